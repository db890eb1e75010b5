"""Escalations: a case handed up to a tier, and back.

Escalating moves the case itself into its tier's queue (`trustdesk.cases.queues.tier_queue`),
restricted to the tier's roles, so it leaves the routed queue and everyone who may not see the
tier queue loses sight of it (need-to-know, `trustdesk.cases.access`). The case keeps its kind
and keeps gathering new reports there (routing leaves a case at a tier in its tier queue). The
claim and any assignment end, the urgency raises the priority (`domain.priority.escalated`),
and the tier queue's SLA counts from the escalation. Escalating a case already at a tier moves
it on; de-escalating sends it back to the routed queue it first came from, with a note.

CX or support staff of the host platform file escalations through the API (`file_for_client`):
idempotent by the client's external id like every API write, about a subject, escalating its
open case or, when it has none, opening a case of kind `escalation`. The requester reads the
escalation's status, the case notes meant for them (`CommentVisibility.REQUESTER`) and the
outcome, recorded when the case is decided (`record_outcome`).

The nearing-breach sweep (`trustdesk.cases.sla`) escalates through `escalate` too, to the
senior tier. Every step is an audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, visible_case
from trustdesk.cases.queues import TIER_NAMES, tier_queue
from trustdesk.cases.routing import default_queue, due_at
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.priority import Band, de_escalated, escalated
from trustdesk.domain.vocabulary import CaseKind, CaseTier, CommentVisibility, EscalationStatus, Urgency
from trustdesk.notices import outcomes as notices
from trustdesk.store import counters
from trustdesk.store.database import Database
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import (
    Case,
    CaseComment,
    CaseSubject,
    Decision,
    Escalation,
    Policy,
    Queue,
    Subject,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:  # annotations only: intake queues analysis, whose bank actions decide, which records here
    from trustdesk.ingest.intake import Submitter

MAX_REASON = 2000
MAX_NOTE = 2000


@dataclass(frozen=True)
class EscalationRequest:
    """What an escalation says: the tier, why, how urgent, and for imminent harm whether (and
    when) the authorities were notified."""

    tier: str
    reason: str
    urgency: str = Urgency.NORMAL.value
    authorities_notified: bool | None = None
    authorities_notified_at: datetime | None = None


@dataclass(frozen=True)
class Checked:
    tier: CaseTier
    reason: str
    urgency: Urgency
    authorities_notified: bool | None
    authorities_notified_at: datetime | None


def check(request: EscalationRequest, now: datetime) -> Checked:
    """The request with its words checked; FieldError names what is wrong."""
    try:
        tier = CaseTier(request.tier)
    except ValueError:
        raise FieldError("tier", f"one of {', '.join(t.value for t in CaseTier)}") from None
    try:
        urgency = Urgency(request.urgency)
    except ValueError:
        raise FieldError("urgency", f"one of {', '.join(u.value for u in Urgency)}") from None
    reason = request.reason.strip()
    if not reason or len(reason) > MAX_REASON or "\x00" in reason:
        raise FieldError("reason", f"say why, in 1–{MAX_REASON} characters")
    notified, notified_at = request.authorities_notified, request.authorities_notified_at
    if tier is CaseTier.IMMINENT_HARM:
        if notified is None:
            raise FieldError("authorities_notified", "say whether the authorities were notified (DSA Art. 18)")
        if notified and notified_at is None:
            raise FieldError("authorities_notified_at", "say when the authorities were notified")
        if not notified and notified_at is not None:
            raise FieldError("authorities_notified_at", "only when the authorities were notified")
        if notified_at is not None and as_utc(notified_at) > now:
            raise FieldError("authorities_notified_at", "cannot be in the future")
    elif notified is not None or notified_at is not None:
        raise FieldError("authorities_notified", "recorded for imminent-harm escalations only")
    return Checked(tier, reason, urgency, notified, as_utc(notified_at) if notified_at else None)


def open_escalation(session: Session, case_id: int) -> Escalation | None:
    return session.execute(
        select(Escalation).where(Escalation.case_id == case_id, Escalation.status == EscalationStatus.OPEN.value)
    ).scalar_one_or_none()


def escalate(session: Session, actor: Actor, who: Reviewer, case_id: int, request: EscalationRequest) -> Escalation:
    """A staff member hands a case they may see up to a tier."""
    case = visible_case(session, who, case_id, lock=True)
    return _escalate(session, actor, case, check(request, utcnow()))


def escalate_locked(session: Session, actor: Actor, case: Case, request: EscalationRequest) -> Escalation:
    """Escalate a case the caller locked and may act on (the SLA sweep)."""
    return _escalate(session, actor, case, check(request, utcnow()))


def _escalate(session: Session, actor: Actor, case: Case, checked: Checked, *, filed: dict[str, Any] | None = None) -> Escalation:
    """Move the locked `case` to the tier's queue and record the escalation (with the API
    filing's fields in `filed`); `EscalationFiledMeanwhile` if another transaction stored that
    filing first."""
    if case.status != "open":
        raise Conflict("case_id", f"case {case.id} is {case.status}")
    if case.tier == checked.tier.value:
        raise Conflict("tier", f"case {case.id} is already at the {TIER_NAMES[checked.tier]} tier")
    now = utcnow()
    queue = tier_queue(session, actor, checked.tier)
    earlier = open_escalation(session, case.id)
    back_to = earlier.from_queue_id if earlier else case.queue_id
    if earlier is not None:  # moved on: the newer escalation is the open one
        earlier.status = EscalationStatus.MOVED.value
        earlier.de_escalated_at, earlier.de_escalated_by = now, actor.id
        earlier.de_escalation_note = f"moved on to the {TIER_NAMES[checked.tier]} tier"
        session.flush()
    values = {
        "case_id": case.id, "tier": checked.tier.value, "from_queue_id": back_to, "reason": checked.reason,
        "urgency": checked.urgency.value, "status": EscalationStatus.OPEN.value, "escalated_by": actor.id, "escalated_at": now,
        "authorities_notified": checked.authorities_notified, "authorities_notified_at": checked.authorities_notified_at,
    } | (filed or {})
    if filed:
        statement = conflict_insert(session, Escalation).values(values).on_conflict_do_nothing(index_elements=["app_id", "external_id"])
        escalation_id = session.execute(statement.returning(Escalation.id)).scalar_one_or_none()
        if escalation_id is None:
            raise EscalationFiledMeanwhile()
    else:
        escalation_id = session.execute(insert(Escalation).values(values).returning(Escalation.id)).scalar_one()
    escalation = session.get_one(Escalation, escalation_id)
    before = _case_state(case)
    priority = escalated(case.priority_score, Band(case.band), case.priority_reasons, checked.urgency)
    case.tier, case.queue_id, case.escalated_at, case.updated_at = checked.tier.value, queue.id, now, now
    case.priority_score, case.band, case.priority_reasons = priority.score, priority.band.value, priority.reasons
    # The tier's team takes it from here, on the tier queue's SLA counted from now.
    case.claimed_by = case.lease_until = case.assigned_to = None
    case.due_at, case.breached_at = due_at(now, queue, priority.band), None
    record(session, actor=actor, verb="case.escalated", object_type="case", object_id=case.id, before=before,
           after=_case_state(case) | {"escalation_id": escalation.id, "tier": checked.tier.value, "urgency": checked.urgency.value,
                                      "reason": checked.reason, "authorities_notified": checked.authorities_notified,
                                      "authorities_notified_at": checked.authorities_notified_at,
                                      "requester_ref": escalation.requester_ref})
    return escalation


def _case_state(case: Case) -> dict[str, Any]:
    return {"queue_id": case.queue_id, "tier": case.tier, "band": case.band, "priority_score": case.priority_score,
            "due_at": case.due_at, "claimed_by": case.claimed_by, "assigned_to": case.assigned_to}


def de_escalate(session: Session, actor: Actor, who: Reviewer, case_id: int, note: str) -> Escalation:
    """Send a case at a tier back to the routed queue it first came from, with a note; the
    escalation's points come off its priority and that queue's SLA counts from now."""
    case = visible_case(session, who, case_id, lock=True)
    note = note.strip()
    if not note or len(note) > MAX_NOTE or "\x00" in note:
        raise FieldError("note", f"say why it goes back, in 1–{MAX_NOTE} characters")
    escalation = open_escalation(session, case.id)
    if case.status != "open" or escalation is None:
        raise Conflict("case_id", f"case {case.id} is not at a tier")
    now = utcnow()
    queue = session.get_one(Queue, escalation.from_queue_id)
    before = _case_state(case)
    priority = de_escalated(case.priority_score, Band(case.band), case.priority_reasons)
    escalation.status = EscalationStatus.DE_ESCALATED.value
    escalation.de_escalated_at, escalation.de_escalated_by, escalation.de_escalation_note = now, actor.id, note
    case.tier, case.queue_id, case.updated_at = None, queue.id, now
    case.priority_score, case.priority_reasons = priority.score, priority.reasons
    case.claimed_by = case.lease_until = case.assigned_to = None
    case.due_at, case.breached_at = due_at(now, queue, Band(case.band)), None
    record(session, actor=actor, verb="case.de_escalated", object_type="case", object_id=case.id, before=before,
           after=_case_state(case) | {"escalation_id": escalation.id, "note": note})
    return escalation


def escalations_of(session: Session, case_id: int) -> list[Escalation]:
    """A case's escalations, newest first (the case page shows them; the caller checked access)."""
    return list(session.execute(select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.id.desc())).scalars())


def record_outcome(session: Session, actor: Actor, cases: Sequence[Case], decision: Decision) -> None:
    """The decided cases' escalations learn the outcome, which their requesters are told."""
    ids = [c.id for c in cases]
    if not ids:
        return
    for escalation in session.execute(
        select(Escalation).where(Escalation.case_id.in_(ids), Escalation.outcome.is_(None)).order_by(Escalation.id)
    ).scalars().all():
        escalation.outcome, escalation.outcome_at = decision.verdict, decision.created_at
        record(session, actor=actor, verb="escalation.outcome_recorded", object_type="escalation", object_id=escalation.id,
               after={"outcome": decision.verdict, "decision_id": decision.id, "case_id": escalation.case_id})
        notices.after_escalation(session, actor, escalation, decision)


# --- filed through the API by the host platform's CX or support staff --------------------------


class EscalationFiledMeanwhile(Exception):
    """Another transaction stored the same filing first; answer from it in a fresh transaction."""


@dataclass(frozen=True)
class Filing:
    """An escalation filed through the API: the client's id for it and the requester's reference."""

    external_id: str
    subject_external_id: str
    policy_code: str  # the policy the requester thinks is broken; a case opened for the filing is under it
    requester_ref: str
    request: EscalationRequest

    def body_hash(self) -> str:
        body = {"subject_external_id": self.subject_external_id, "policy_code": self.policy_code, "requester_ref": self.requester_ref,
                "tier": self.request.tier, "reason": self.request.reason, "urgency": self.request.urgency,
                "authorities_notified": self.request.authorities_notified,
                "authorities_notified_at": self.request.authorities_notified_at.isoformat() if self.request.authorities_notified_at else None}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def file_for_client(db: Database, who: Submitter, filing: Filing) -> tuple[RequesterView, bool]:
    """File an escalation for a requester, idempotently by (app, external id): an identical
    retry answers the original (and False: not created), the same id with other content is a
    Conflict. Retries sent at the same moment store one: the one that loses the race answers
    from the winner's row in a fresh transaction."""
    for _attempt in range(2):
        try:
            with db.session() as session:
                escalation, created = _file(session, who, filing)
                return _view(session, escalation), created
        except EscalationFiledMeanwhile:
            continue
    raise Conflict("external_id", f"{filing.external_id!r} is being filed by another request; send it again")


def _file(session: Session, who: Submitter, filing: Filing) -> tuple[Escalation, bool]:
    digest = filing.body_hash()
    stored = session.execute(
        select(Escalation).where(Escalation.app_id == who.app_id, Escalation.external_id == filing.external_id)
    ).scalar_one_or_none()
    if stored is not None:
        if stored.body_hash != digest:
            raise Conflict("external_id", f"{filing.external_id!r} was already filed with different content; it cannot be changed")
        return stored, False
    checked = check(filing.request, utcnow())
    subject = session.execute(
        select(Subject).where(Subject.app_id == who.app_id, Subject.external_id == filing.subject_external_id)
    ).scalar_one_or_none()
    if subject is None:
        raise NotFound("subject_external_id", f"no subject {filing.subject_external_id!r} in this app")
    if session.execute(select(Policy.id).where(Policy.code == filing.policy_code, Policy.is_current.is_(True))).first() is None:
        raise FieldError("policy_code", f"no policy {filing.policy_code!r}")
    case = _open_case_of(session, subject.id) or _open_escalation_case(session, who, subject, checked, filing.policy_code)
    filed = {"app_id": who.app_id, "api_client_id": who.client_id, "external_id": filing.external_id,
             "requester_ref": filing.requester_ref, "body_hash": digest}
    return _escalate(session, who.actor, case, checked, filed=filed), True


def _open_case_of(session: Session, subject_id: int) -> Case | None:
    """The subject's open case to escalate, locked: its report case if it has one, else its
    newest open case of another kind."""
    linked = select(CaseSubject.case_id).where(CaseSubject.subject_id == subject_id)
    ids = session.execute(
        select(Case.id).where(or_(Case.subject_id == subject_id, Case.id.in_(linked)), Case.status == "open")
        .order_by((Case.kind == CaseKind.REPORT.value).desc(), Case.id.desc())
    ).scalars().all()
    if not ids:
        return None
    return session.execute(select(Case).where(Case.id == ids[0]).with_for_update()).scalar_one_or_none()


def _open_escalation_case(session: Session, who: Submitter, subject: Subject, checked: Checked, policy_code: str) -> Case:
    """A case of kind `escalation` for a subject with no open case; it opens straight at its
    tier's queue (`_escalate` moves it there and returns to here only if de-escalated)."""
    now = utcnow()
    queue = default_queue(session, who.actor)
    row = {"app_id": who.app_id, "subject_id": subject.id, "kind": CaseKind.ESCALATION.value, "queue_id": queue.id,
           "status": "open", "band": Band.P3.value, "priority_score": 0.0, "priority_reasons": {}, "imminent_harm": False,
           "report_count": 0, "policy_code": policy_code, "routed_by": "escalation", "due_at": due_at(now, queue, Band.P3),
           "created_at": now, "updated_at": now}
    case_id = session.execute(insert(Case).values(row).returning(Case.id)).scalar_one()
    counters.inserted(session, Case, [row])
    session.execute(insert(CaseSubject).values(case_id=case_id, subject_id=subject.id))
    record(session, actor=who.actor, verb="case.opened", object_type="case", object_id=case_id,
           after={"subject_id": subject.id, "kind": CaseKind.ESCALATION.value, "queue_id": queue.id, "routed_by": "escalation",
                  "tier": checked.tier.value})
    return session.execute(select(Case).where(Case.id == case_id).with_for_update()).scalar_one()


@dataclass(frozen=True)
class RequesterView:
    """What the requester of an API-filed escalation may read: its own filing, the case's
    status, the notes meant for requesters since it was filed, and the outcome; never internal
    comments, reporters, the case's content or anything of another requester."""

    id: int
    external_id: str
    requester_ref: str | None
    tier: str
    urgency: str
    status: str
    filed_at: datetime
    case_status: str
    outcome: str | None
    outcome_at: datetime | None
    notes: list[tuple[str, datetime]]


def requester_view(session: Session, who: Submitter, escalation_id: int) -> RequesterView:
    """The escalation as the client that filed it sees it; NotFound for anyone else's."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or escalation.api_client_id is None or escalation.api_client_id != who.client_id:
        raise NotFound("escalation_id", f"no escalation {escalation_id}")
    return _view(session, escalation)


def _view(session: Session, escalation: Escalation) -> RequesterView:
    case_status = session.execute(select(Case.status).where(Case.id == escalation.case_id)).scalar_one()
    notes = session.execute(
        select(CaseComment.body, CaseComment.created_at)
        .where(CaseComment.case_id == escalation.case_id, CaseComment.visibility == CommentVisibility.REQUESTER.value,
               CaseComment.created_at >= escalation.escalated_at).order_by(CaseComment.id)
    ).all()
    return RequesterView(
        escalation.id, escalation.external_id or "", escalation.requester_ref, escalation.tier, escalation.urgency,
        escalation.status, escalation.escalated_at, case_status, escalation.outcome, escalation.outcome_at,
        [(body, at) for body, at in notes],
    )


def has_requester(session: Session, case_id: int) -> bool:
    """Whether someone filed an escalation of this case through the API and reads its notes."""
    return session.execute(
        select(Escalation.id).where(Escalation.case_id == case_id, Escalation.api_client_id.is_not(None)).limit(1)
    ).first() is not None
