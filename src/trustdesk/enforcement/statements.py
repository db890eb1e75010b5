"""Statements of reasons: one stored for every restricting action when it is applied.

A decision's statements are checked against the Transparency Database's rules while the
decision is planned (`check`), so one that would be refused stops the decision before anything
is written; `apply_plan` then stores one per restricting action (`store`), cascaded ones
included, before the action is announced, so the webhook carries its id. Which kinds restrict
is the action types' business (`trustdesk.domain.action_types`); the statement's shape is
`trustdesk.domain.statement_of_reasons.build`.

The `puid` is a random token (`td-` and 32 hex digits), not a row id: it stays unique for the
platform even across a restored database or two deployments reporting for one platform.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trustdesk.cases.access import Reviewer, restricted_subjects
from trustdesk.domain.action_types import action_type
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.statement_of_reasons import Grounds, Restricted, build, source_type, violations
from trustdesk.domain.statement_of_reasons import StatementOfReasons as StatementOfReasonsBody
from trustdesk.domain.vocabulary import ReporterType
from trustdesk.store.inserted_now import insert_now
from trustdesk.store.models import Decision, EnforcementAction, Policy, Report, StatementOfReasons, Subject, as_utc

# The request field a statement's field comes from, where the reviewer can fix it.
_REQUEST_FIELDS = {"decision_facts": "rationale"}


def grounds(
    session: Session, policy: Policy, rationale: str, *, automated_detection: bool, automated_decision: str,
    case_ids: Sequence[int],
) -> Grounds:
    """What every statement of one decision shares; the source is read from the cases' reports."""
    reports = session.execute(
        select(Report.reporter_type, Report.dsa_explanation).where(Report.case_id.in_(case_ids))
    ).all() if case_ids else []
    return Grounds(
        policy_code=policy.code, policy_title=policy.title, policy_version=policy.version,
        policy_description=policy.description, dsa_category=policy.dsa_category,
        dsa_keywords=tuple(policy.dsa_keywords or ()), rationale=rationale,
        automated_detection=automated_detection, automated_decision=automated_decision,
        source_type=source_type(_notice_kind(r.reporter_type, r.dsa_explanation) for r in reports),
    )


def grounds_of(session: Session, decision: Decision) -> Grounds:
    return grounds(
        session, session.get_one(Policy, decision.policy_id), decision.rationale,
        automated_detection=decision.automated_detection, automated_decision=decision.automated_decision,
        case_ids=[decision.case_id] if decision.case_id else [],
    )


def _notice_kind(reporter_type: str, explanation: str | None) -> str:
    if reporter_type == ReporterType.TRUSTED_FLAGGER:
        return "trusted_flagger"
    if reporter_type == ReporterType.AUTOMATED:
        return "own_initiative"
    if reporter_type in (ReporterType.USER, ReporterType.ANONYMOUS) and (explanation or "").strip():
        return "notice"
    return "other"


def restricted(kind: str, subject: Subject, ends_at: datetime | None) -> Restricted | None:
    """What `kind` does to `subject`, for its statement; None when the kind restricts nothing."""
    restriction = action_type(kind).restriction
    if restriction is None:
        return None
    return Restricted(
        restriction=restriction.fields(), end_date_field=restriction.end_date_field,
        ends_at=as_utc(ends_at).date() if ends_at else None, subject_kind=subject.kind,
        content_date=as_utc(subject.created_at or subject.received_at).date(), language=subject.language,
    )


def check(shared: Grounds, targets: Iterable[tuple[str, Subject, datetime | None]], now: datetime) -> None:
    """Refuse (`FieldError` naming the request field) if a statement of these (kind, subject,
    ends_at) would not pass the Transparency Database's rules; called before anything is written."""
    for kind, subject, ends_at in targets:
        item = restricted(kind, subject, ends_at)
        if item is None:
            continue
        _refuse_invalid(build(shared, item, now.date(), new_puid()))


def _refuse_invalid(body: StatementOfReasonsBody) -> None:
    found = violations(body)
    if found:
        field, message = found[0]
        raise FieldError(_REQUEST_FIELDS.get(field, f"statement.{field}"), f"the statement of reasons' {field} {message}")


def new_puid() -> str:
    return f"td-{secrets.token_hex(16)}"


def store(session: Session, shared: Grounds, action: EnforcementAction, subject: Subject) -> StatementOfReasons | None:
    """Store the statement of a restricting action (checked again: nothing invalid is stored),
    at once: its id goes into the action's webhook event."""
    item = restricted(action.kind, subject, action.ends_at)
    if item is None:
        return None
    body = build(shared, item, as_utc(action.created_at).date(), new_puid())
    _refuse_invalid(body)
    return insert_now(session, StatementOfReasons(
        app_id=subject.app_id, puid=body["puid"], decision_id=action.decision_id, action_id=action.id,
        subject_id=subject.id, body=dict(body), created_at=action.created_at,
    ))


_OF_ACTION = select(StatementOfReasons).where(StatementOfReasons.action_id == bindparam("action_id"))  # built once: every decision


def of_action(session: Session, action_id: int) -> StatementOfReasons | None:
    """The statement stored for an action (None for one that restricts nothing)."""
    return session.execute(_OF_ACTION, {"action_id": action_id}).scalar()


def of_app(session: Session, app_id: int, statement_id: int) -> StatementOfReasons:
    """The statement for an app's API client: another app's is not found, as a missing one."""
    row = session.get(StatementOfReasons, statement_id)
    if row is None or row.app_id != app_id:
        raise NotFound("statement_id", f"no statement of reasons {statement_id}")
    return row


def of_case(session: Session, reviewer: Reviewer, case_id: int, limit: int) -> list[StatementOfReasons]:
    """The statements of a case's decisions, leaving out those of subjects hidden from `reviewer`."""
    rows = list(session.execute(
        select(StatementOfReasons).join(Decision, Decision.id == StatementOfReasons.decision_id)
        .where(Decision.case_id == case_id).order_by(StatementOfReasons.id).limit(limit)
    ).scalars())
    hidden = restricted_subjects(session, reviewer, {r.subject_id for r in rows})
    return [r for r in rows if r.subject_id not in hidden]
