"""Backtesting a rule: replay the stored evaluations of a period through one version of it.

Each evaluation keeps the inputs routing and the rules saw at the time (the history as it was
then, the signals then known), so a replay needs nothing else: the unchanged live version
finds exactly the hits that were recorded live, and a changed version (a saved one, or a draft
not yet saved) shows what it would have matched instead. Precision is measured against what
people decided: of the subjects a version matches that a reviewer has decided, the share found
in violation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases.access import Reviewer, restricted_subjects
from trustdesk.domain.decision_trees import VIOLATION
from trustdesk.domain.client_input import time_of
from trustdesk.domain.errors import FieldError
from trustdesk.domain.rules import RuleMode, RuleSpec
from trustdesk.privacy.processing import withheld_from_automation
from trustdesk.rules.engine import compile_condition
from trustdesk.rules.expressions import Expression, ExpressionError
from trustdesk.rules.versions import rule_named, version_of
from trustdesk.store.models import Decision, RuleEvaluation, RuleHit

_PERIOD = re.compile(r"([0-9]{1,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
BATCH = 2000


@dataclass(frozen=True)
class Precision:
    decided: int  # matched subjects a person has decided
    violations: int  # of those, found in violation

    @property
    def value(self) -> float | None:
        return self.violations / self.decided if self.decided else None


@dataclass
class Backtest:
    rule: str
    version: int | None  # None: a draft not yet saved
    since: datetime
    until: datetime
    replayed: int = 0
    withheld: int = 0  # evaluations of subjects hidden from the reader, left out
    objected: int = 0  # evaluations of content whose person restricted processing or objected, not replayed
    errors: int = 0
    matched: list[int] = field(default_factory=list)  # evaluation ids the version matches
    recorded: list[int] = field(default_factory=list)  # evaluation ids recorded as live hits of the rule
    subjects: dict[int, int] = field(default_factory=dict)  # evaluation id → subject id, for both lists
    precision: Precision = Precision(0, 0)
    recorded_precision: Precision = Precision(0, 0)

    @property
    def added(self) -> list[int]:
        """Evaluations the version matches that the live rule did not."""
        live = set(self.recorded)
        return [e for e in self.matched if e not in live]

    @property
    def dropped(self) -> list[int]:
        """Evaluations the live rule matched that the version does not."""
        matched = set(self.matched)
        return [e for e in self.recorded if e not in matched]


def parse_since(text: str, now: datetime) -> datetime:
    """`30d`, `12h`, `90m`, or an ISO date or time (UTC when no offset is given)."""
    found = _PERIOD.fullmatch(text.strip())
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    return time_of("since", text, "a period such as 30d, 12h or 90m, or an ISO date")


def backtest(session: Session, name: str, since: datetime, until: datetime, *, version: int | None = None,
             draft: RuleSpec | None = None, reader: Reviewer | None = None) -> Backtest:
    """Replay [since, until) through the rule's current version, version `version`, or `draft`.

    Given a `reader` (a person, not the command line), evaluations of subjects hidden from them
    are left out and only counted: a draft condition run over hidden content would tell what it
    says (`text.contains(...)`) one guess at a time."""
    rule, current = rule_named(session, name)
    if draft is not None and draft.name != name:
        raise FieldError("name", f"a draft of the rule {name!r} must keep its name, not {draft.name!r}")
    if draft is not None:
        try:
            expression = compile_condition(draft.expression)
        except ExpressionError as exc:
            raise FieldError("expression", str(exc)) from exc
        number = None
    else:
        chosen = current if version is None else version_of(session, rule, version)
        expression, number = compile_condition(chosen.expression), chosen.version
    result = Backtest(name, number, since, until)
    _replay(session, expression, result, reader)
    recorded = session.execute(
        select(RuleHit.evaluation_id, RuleEvaluation.subject_id).join(RuleEvaluation, RuleEvaluation.id == RuleHit.evaluation_id)
        .where(RuleHit.rule_id == rule.id, RuleHit.mode == RuleMode.LIVE.value,
               RuleEvaluation.created_at >= since, RuleEvaluation.created_at < until)
        .order_by(RuleHit.evaluation_id)
    ).all()
    hidden = _hidden(session, reader, {subject for _e, subject in recorded})
    result.recorded = [e for e, subject in recorded if subject not in hidden]
    result.subjects.update({e: subject for e, subject in recorded if subject not in hidden})
    result.precision = _precision(session, {result.subjects[e] for e in result.matched})
    result.recorded_precision = _precision(session, {result.subjects[e] for e in result.recorded})
    return result


def _hidden(session: Session, reader: Reviewer | None, subject_ids: set[int]) -> set[int]:
    return restricted_subjects(session, reader, subject_ids) if reader is not None else set()


def _replay(session: Session, expression: Expression, result: Backtest, reader: Reviewer | None) -> None:
    """Evaluate every stored evaluation of the period, in batches by id, but those of subjects
    hidden from `reader`, and those of content no rule may run on: withheld when it was stored
    (kept empty), or whose person restricts processing or objects now (a backtest processes it
    as much as a live rule would)."""
    after = 0
    while True:
        rows = session.execute(
            select(RuleEvaluation.id, RuleEvaluation.subject_id, RuleEvaluation.inputs)
            .where(RuleEvaluation.created_at >= result.since, RuleEvaluation.created_at < result.until,
                   RuleEvaluation.id > after)
            .order_by(RuleEvaluation.id).limit(BATCH)
        ).all()
        if not rows:
            return
        subject_ids = {subject_id for _e, subject_id, _inputs in rows}
        hidden, objected = _hidden(session, reader, subject_ids), withheld_from_automation(session, subject_ids)
        for evaluation_id, subject_id, inputs in rows:
            if subject_id in hidden:
                result.withheld += 1
                continue
            if subject_id in objected or not inputs:
                result.objected += 1
                continue
            result.replayed += 1
            try:
                if expression.matches(inputs):
                    result.matched.append(evaluation_id)
                    result.subjects[evaluation_id] = subject_id
            except ExpressionError:
                result.errors += 1
        after = rows[-1][0]


def _precision(session: Session, subject_ids: set[int]) -> Precision:
    """Of these subjects, how many a person has decided, and how many of those in violation
    (the latest decision by a reviewer counts)."""
    if not subject_ids:
        return Precision(0, 0)
    latest: dict[int, str] = {}
    ids = sorted(subject_ids)
    for start in range(0, len(ids), BATCH):
        for subject_id, verdict in session.execute(
            select(Decision.subject_id, Decision.verdict)
            .where(Decision.subject_id.in_(ids[start:start + BATCH]), Decision.reviewer_id.is_not(None))
            .order_by(Decision.id)
        ):
            latest[subject_id] = verdict
    return Precision(len(latest), sum(verdict == VIOLATION for verdict in latest.values()))
