"""Rules for automation: read them with their versions, save new versions, switch modes, backtest.

Seniors, QA leads, analysts and admins read; admins write (`trustdesk.domain.roles`). The body
of a save is the rule as a TOML file says it (`trustdesk.domain.rules`), refused with the field
at fault (`effects[0].queue`); the rules of saving are `trustdesk.rules.versions`'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from trustdesk.domain.client_input import RowId
from trustdesk.domain.roles import ADMINS, RULE_READERS
from trustdesk.domain.rules import MAX_DESCRIPTION, MAX_EFFECTS, RuleMode, RuleSpec, parse_rule
from trustdesk.rules import versions
from trustdesk.rules.backtest import Backtest, Precision, backtest, parse_since
from trustdesk.rules.expressions import MAX_SOURCE_CHARS
from trustdesk.store.models import Rule, RuleVersion, utcnow
from trustdesk.web.api.responses import api_router
from trustdesk.web.permissions import COMMITTED, StaffContext, read_session, staff_with

router = api_router("rules")

LISTED = 200  # evaluations listed per side of a backtest; the counts are complete


class RuleIn(BaseModel):
    """A rule as its TOML file says it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64, description="Lower-case letter, then letters, digits or _; the rule's identity")
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    mode: RuleMode = Field(default=RuleMode.SHADOW, description="live: effects applied; shadow: hits only recorded; disabled")
    expression: str = Field(max_length=MAX_SOURCE_CHARS, description="CEL over the rule variables (see the README, Rules)")
    effects: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_EFFECTS, description=(
        "Each `{type: route, queue, priority, band}`, `{type: label, label}` or `{type: action, policy, actions, days}`; "
        "none: record the hit, change nothing"))

    def spec(self) -> RuleSpec:
        return parse_rule(self.model_dump(mode="json"))


class ModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: RuleMode


class VersionOut(BaseModel):
    version: int
    mode: str
    description: str
    expression: str
    effects: list[dict[str, Any]]
    source: str = Field(description="Where it was saved: console, api, cli or file")
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, version: RuleVersion) -> "VersionOut":
        return cls(**{name: getattr(version, name) for name in cls.model_fields})


class RuleOut(BaseModel):
    name: str
    version: int = Field(description="The current version")
    mode: str
    description: str
    expression: str
    effects: list[dict[str, Any]]
    source: str
    updated_at: datetime

    @classmethod
    def of(cls, rule: Rule, version: RuleVersion) -> "RuleOut":
        return cls(name=rule.name, version=version.version, mode=version.mode, description=version.description,
                   expression=version.expression, effects=version.effects, source=version.source, updated_at=rule.updated_at)


class SavedOut(RuleOut):
    changed: bool = Field(description="False: the rule already said this, so no version was made")


class RuleDetailOut(RuleOut):
    versions: list[VersionOut] = Field(description="Newest first")


class PrecisionOut(BaseModel):
    decided: int = Field(description="Matched subjects a reviewer has decided")
    violations: int = Field(description="Of those, found in violation (the latest reviewer decision)")
    value: float | None = Field(description="violations / decided; null when none is decided")

    @classmethod
    def of(cls, precision: Precision) -> "PrecisionOut":
        return cls(decided=precision.decided, violations=precision.violations, value=precision.value)


class MatchOut(BaseModel):
    evaluation_id: int
    subject_id: int


class BacktestOut(BaseModel):
    rule: str
    version: int | None = Field(description="The version replayed; null for a draft")
    since: datetime
    until: datetime
    replayed: int = Field(description="Evaluations of the period replayed")
    withheld: int = Field(description="Evaluations of subjects hidden from the caller (a queue's roles), left out")
    objected: int = Field(description="Evaluations of content whose person restricted processing or objected to it, not replayed")
    errors: int = Field(description="Evaluations on which the condition failed")
    matched: int = Field(description="Evaluations the version matches")
    recorded: int = Field(description="Evaluations recorded as live hits of the rule in the period")
    added: int = Field(description="Matched, not recorded live")
    dropped: int = Field(description="Recorded live, not matched")
    added_items: list[MatchOut] = Field(description=f"The first {LISTED} added")
    dropped_items: list[MatchOut] = Field(description=f"The first {LISTED} dropped")
    precision: PrecisionOut
    recorded_precision: PrecisionOut

    @classmethod
    def of(cls, result: Backtest) -> "BacktestOut":
        added, dropped = result.added, result.dropped

        def items(ids: list[int]) -> list[MatchOut]:
            return [MatchOut(evaluation_id=e, subject_id=result.subjects[e]) for e in ids[:LISTED]]

        return cls(rule=result.rule, version=result.version, since=result.since, until=result.until, replayed=result.replayed,
                   withheld=result.withheld, objected=result.objected, errors=result.errors, matched=len(result.matched), recorded=len(result.recorded), added=len(added),
                   dropped=len(dropped), added_items=items(added), dropped_items=items(dropped),
                   precision=PrecisionOut.of(result.precision), recorded_precision=PrecisionOut.of(result.recorded_precision))


SINCE = Query("30d", max_length=40, description="A period back from now (30d, 12h, 90m) or an ISO date or time")


@router.get("/rules", response_model=list[RuleOut])
def list_rules(_who: StaffContext = Depends(staff_with(*RULE_READERS)), session: Session = Depends(read_session)) -> list[RuleOut]:
    """Every rule with its current version, by name."""
    return [RuleOut.of(rule, version) for rule, version in versions.current_versions(session)]


@router.post("/rules", response_model=SavedOut, status_code=201,
             responses={200: {"model": SavedOut, "description": "An existing rule: a new version, or unchanged (`changed` false)"}})
def save_rule(body: RuleIn, response: Response, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> SavedOut:
    """Create a rule (201), or save a rule's next version (200); a save that changes nothing
    makes no version. Refused with the field at fault: a condition that does not compile or
    type-check, or an effect naming a queue, policy or action that does not exist."""
    saved = versions.save_rule(session, who.actor, body.spec(), source="api")
    if not (saved.changed and saved.version.version == 1):
        response.status_code = 200
    return SavedOut(**RuleOut.of(saved.rule, saved.version).model_dump(), changed=saved.changed)


@router.get("/rules/{name}", response_model=RuleDetailOut)
def read_rule(name: str, _who: StaffContext = Depends(staff_with(*RULE_READERS)), session: Session = Depends(read_session)) -> RuleDetailOut:
    """The rule's current version and every version before it."""
    rule, current = versions.rule_named(session, name)
    return RuleDetailOut(**RuleOut.of(rule, current).model_dump(), versions=[VersionOut.of(v) for v in versions.versions(session, rule)])


@router.post("/rules/{name}/mode", response_model=SavedOut)
def set_mode(name: str, body: ModeIn, who: StaffContext = Depends(staff_with(*ADMINS)), session: Session = COMMITTED) -> SavedOut:
    """Switch the rule to live, shadow or disabled: a new version, so hits keep the mode they had."""
    saved = versions.set_mode(session, who.actor, name, body.mode, source="api")
    return SavedOut(**RuleOut.of(saved.rule, saved.version).model_dump(), changed=saved.changed)


@router.get("/rules/{name}/backtest", response_model=BacktestOut)
def backtest_version(
    name: str, since: str = SINCE, version: RowId | None = Query(None, description="A saved version; the current one when left out"),
    who: StaffContext = Depends(staff_with(*RULE_READERS)), session: Session = Depends(read_session),
) -> BacktestOut:
    """Replay the period's stored evaluations through a saved version of the rule: what it
    matches against what was recorded live, and its precision against reviewers' decisions."""
    now = utcnow()
    return BacktestOut.of(backtest(session, name, parse_since(since, now), now, version=version, reader=who.reviewer))


@router.post("/rules/{name}/backtest", response_model=BacktestOut)
def backtest_draft(
    name: str, body: RuleIn, since: str = SINCE,
    who: StaffContext = Depends(staff_with(*RULE_READERS)), session: Session = Depends(read_session),
) -> BacktestOut:
    """Replay the period through a draft of the rule (the body, not saved) to see what a change would do."""
    now = utcnow()
    return BacktestOut.of(backtest(session, name, parse_since(since, now), now, draft=body.spec(), reader=who.reviewer))
