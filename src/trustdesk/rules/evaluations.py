"""Keeping each evaluation (the inputs seen, the errors, the hits) and carrying out live actions.

Every event that routing or the rules look at leaves one `rule_evaluations` row with its inputs
and any expression that failed on them, and one `rule_hits` row per rule version that matched
(live or shadow), written in the event's own transaction. That is what the console shows on a
case, what metrics count, and what a backtest replays.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import FieldError
from trustdesk.rules.engine import Outcome, count_errors, expression_error
from trustdesk.store.dialects import dialect_name, encoded_json, insert_from_json, json_rows, json_text
from trustdesk.store.models import Rule, RuleEvaluation, RuleHit, RuleVersion

RULES = Actor("system", "rules")


@dataclass
class Evaluated:
    """One event's evaluation, before and after it is stored."""

    app_id: int
    subject_id: int
    trigger: str
    inputs: dict[str, Any]
    outcome: Outcome
    report_id: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)  # routing's, besides the rules'
    withheld: bool = False  # its person restricted processing or objected: no rule ran on it
    id: int | None = None
    _encoded: str | None = field(default=None, repr=False)

    def encoded_inputs(self) -> str:
        """The inputs as stored (JSON text), encoded once: the worker encodes them before its
        write transaction. Of withheld content nothing is kept (`{}`), so no backtest replays it."""
        if self._encoded is None:
            self._encoded = json_text({} if self.withheld else self.inputs)
        return self._encoded


@functools.cache
def _add_evaluations(dialect: str) -> Any:
    """A Core statement built once, run past the ORM step: this runs for every event, with the
    inputs and errors encoded already. Evaluations are matched back by subject rather than by
    row order: on SQLite an insert that must keep the parameters' order runs one row at a time.
    (Sent as one JSON array, as hits are, they cost more: the database re-reads each row's
    inputs to take its columns apart.)"""
    table = RuleEvaluation.__table__
    return (insert(table).values(inputs=encoded_json(dialect, "inputs"), errors=encoded_json(dialect, "errors"))
            .returning(table.c.subject_id, table.c.id))


@functools.lru_cache(maxsize=64)
def _add_hits(dialect: str, columns: tuple[str, ...], shared: tuple[str, ...]) -> Any:
    """Hits as one JSON array the database unpacks (`json_rows`): a batch has hundreds, small,
    bound row by row they cost three times as much."""
    return insert_from_json(dialect, RuleHit.__table__, columns, shared)


def store(session: Session, evaluated: Sequence[Evaluated], now: datetime) -> None:
    """Insert the evaluations (at most one per subject) and their hits; sets each one's `id`."""
    if not evaluated:
        return
    if len({e.subject_id for e in evaluated}) < len(evaluated):
        raise ValueError("one evaluation per subject in a call")
    errors = [[*e.outcome.errors, *e.errors] for e in evaluated]
    connection, dialect = session.connection(), dialect_name(session)
    ids = dict(connection.execute(
        _add_evaluations(dialect),
        [{"app_id": e.app_id, "subject_id": e.subject_id, "report_id": e.report_id, "trigger": e.trigger,
          "inputs": e.encoded_inputs(), "errors": json_text(failed), "created_at": now} for e, failed in zip(evaluated, errors)],
    ).all())
    hits = []
    for e, failed in zip(evaluated, errors):
        e.id = ids[e.subject_id]
        count_errors(failed)
        hits.extend({"evaluation_id": e.id, "rule_id": rule.rule_id, "rule_version_id": rule.version_id,
                     "mode": rule.mode.value, "subject_id": e.subject_id, "created_at": now} for rule in e.outcome.hits)
    if hits:
        rows = json_rows(dialect, RuleHit.__table__, hits)
        connection.execute(_add_hits(dialect, rows.columns, rows.shared), rows.params)


def act(session: Session, evaluated: Evaluated) -> int | None:
    """Carry out the live action the evaluation calls for, as an automated decision; its id.

    The decision names the rule version in its rationale and is audited with the evaluation, so
    it can be explained and undone like any other. A decision that would change nothing (the
    subject is already restricted) is not made; one that cannot be made is recorded as an error
    on the evaluation instead of failing the event.
    """
    # Imported here: decisions → escalations → intake → routing, which calls this.
    from trustdesk.enforcement.decisions import DecisionRequest, NothingToChange, decide_subject

    effects = evaluated.outcome.effects
    if effects.action is None or effects.action_rule is None:
        return None
    rule = effects.action_rule
    request = DecisionRequest(
        policy_code=effects.action.policy, verdict="violation", actions=list(effects.action.actions),
        rationale=f"Automated: rule {rule.name} (version {rule.version}) matched.",
        params={"days": effects.action.days} if effects.action.days else {},
    )
    try:
        with session.begin_nested():
            decision = decide_subject(session, RULES, evaluated.subject_id, request, unless_unchanged=True)
    except NothingToChange:
        return None
    except FieldError as exc:
        add_errors(session, evaluated, [expression_error("action", rule.name, f"the action could not be taken: {exc}")])
        return None
    record(session, actor=RULES, verb="rule.acted", object_type="decision", object_id=decision.id, after={
        "rule": rule.name, "version": rule.version, "evaluation_id": evaluated.id, "subject_id": evaluated.subject_id,
    })
    return decision.id


def add_errors(session: Session, evaluated: Evaluated, errors: list[dict[str, str]]) -> None:
    """Record on a stored evaluation what failed after it was kept (its action, routing the
    report it filed), and count it."""
    if not errors:
        return
    row = session.get_one(RuleEvaluation, evaluated.id)
    count_errors(errors)
    row.errors = [*row.errors, *errors]


def hits_of(session: Session, subject_id: int, limit: int = 50) -> list[tuple[RuleHit, str, int, RuleEvaluation]]:
    """A subject's rule hits, newest first, with the rule's name and version and the evaluation."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(RuleHit, Rule.name, RuleVersion.version, RuleEvaluation)
        .join(Rule, Rule.id == RuleHit.rule_id).join(RuleVersion, RuleVersion.id == RuleHit.rule_version_id)
        .join(RuleEvaluation, RuleEvaluation.id == RuleHit.evaluation_id)
        .where(RuleHit.subject_id == subject_id).order_by(RuleHit.id.desc()).limit(limit)
    )]


def errors_of(session: Session, subject_id: int, limit: int = 50) -> list[RuleEvaluation]:
    """The subject's evaluations on which an expression or an action failed, newest first,
    among its latest `limit` evaluations."""
    latest = session.execute(
        select(RuleEvaluation).where(RuleEvaluation.subject_id == subject_id).order_by(RuleEvaluation.id.desc()).limit(limit)
    ).scalars()
    return [evaluation for evaluation in latest if evaluation.errors]


def hit_counts(session: Session, since: datetime) -> dict[int, dict[str, int]]:
    """Hits per rule id and mode (live, shadow) recorded since `since`."""
    counts: dict[int, dict[str, int]] = {}
    for rule_id, mode, count in session.execute(
        select(RuleHit.rule_id, RuleHit.mode, func.count()).where(RuleHit.created_at >= since).group_by(RuleHit.rule_id, RuleHit.mode)
    ):
        counts.setdefault(rule_id, {})[mode] = count
    return counts
