"""Privacy requests: intake, the identity check, the one extension, and the answer.

Each request opens a case of kind `privacy_request` in the "Privacy requests" queue (the
privacy role's), about the data subject's account, with the regime's legal deadline as the
case's `legal_due_at` and `due_at`: the queue, the dashboard and the breach sweep read the
legal clock. Verifying identity under UK GDPR may record the days the clock stood still; an
extension lengthens the date, refused where the regime allows none. A CCPA request to know,
delete or correct gets the date its receipt must be confirmed by, and the confirmation is
recorded (who, when, how it was sent) from the console or by the host platform that sent it.

Answering needs a verified identity (refusing does not). An erasure goes through the one
deletion path (`trustdesk.privacy.deletion`) for every subject of the person that no standing
hold covers; an account with held items stays with them. The answer says what was retained and
on which legal basis (the hold's basis and id), and the host platform is told
(`privacy.erasure_completed`). Access exports are written by `trustdesk.privacy.access_export`.
A rectification's answer keeps the person's statement against their account; a restriction's
or objection's withholds their content from automated analysis and rules
(`trustdesk.privacy.processing`), a restriction until it is lifted.
Every step is an audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor, record
from trustdesk.cases.queues import privacy_queue
from trustdesk.delivery import outbox
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.legal_deadlines import PRIVACY_RULES, Regime, end_of, privacy_due, privacy_extended
from trustdesk.domain.priority import Band
from trustdesk.domain.privacy_requests import (
    CORRECTIONS,
    ERASURES,
    MAX_PAUSED_DAYS,
    MAX_STATEMENT,
    OBJECTIONS,
    RESTRICTIONS,
    CheckedRequest,
    RequestSpec,
    RequestStatus,
    RequestType,
    Verification,
    check,
    confirm_by,
    text,
)
from trustdesk.domain.vocabulary import CaseKind, SubjectKind
from trustdesk.enforcement.decisions import CASE_DECIDED
from trustdesk.evidence.holds import covering
from trustdesk.privacy.deletion import Deletion, delete_subject_data
from trustdesk.store.database import Database
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Case, CaseSubject, LegalHold, PrivacyRequest, Subject, utcnow

if TYPE_CHECKING:  # annotations only
    from trustdesk.ingest.intake import Submitter

def person_subjects(session: Session, account_id: int) -> list[Subject]:
    """The account and every item it owns, in id order: everything of the person."""
    return list(session.execute(
        select(Subject).where((Subject.id == account_id) | (Subject.account_id == account_id)).order_by(Subject.id)
    ).scalars())


def _account(session: Session, app_id: int, external_id: str) -> Subject:
    subject = session.execute(
        select(Subject).where(Subject.app_id == app_id, Subject.external_id == external_id)
    ).scalar_one_or_none()
    if subject is None:
        raise NotFound("subject_external_id", f"no subject {external_id!r} in this app")
    if subject.kind != SubjectKind.ACCOUNT:
        raise FieldError("subject_external_id", f"{external_id!r} is a {subject.kind}: name the person's account")
    return subject


def _open(session: Session, actor: Actor, app_id: int, checked: CheckedRequest, filed: dict[str, Any] | None = None) -> PrivacyRequest | None:
    """Open the request's case and store the request; None when a filing with the same
    external id was stored by another transaction meanwhile (the caller rolls back)."""
    account = _account(session, app_id, checked.subject_external_id)
    now = utcnow()
    due = privacy_due(checked.regime, checked.received_on)
    queue = privacy_queue(session, actor)
    case = Case(
        app_id=app_id, subject_id=account.id, queue_id=queue.id, kind=CaseKind.PRIVACY_REQUEST.value, status="open",
        band=Band.P2.value, priority_score=0.0, priority_reasons={}, report_count=0, policy_code="",
        routed_by=f"privacy:{checked.regime.value}", due_at=end_of(due), legal_due_at=end_of(due), created_at=now, updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add(CaseSubject(case_id=case.id, subject_id=account.id))
    values = {
        "app_id": app_id, "case_id": case.id, "subject_id": account.id, "regime": checked.regime.value,
        "request_type": checked.request_type.value, "requester_name": checked.requester_name,
        "requester_contact": checked.requester_contact, "details": checked.details, "verification": Verification.UNVERIFIED.value,
        "received_on": checked.received_on, "due_on": due, "paused_days": 0,
        "confirm_by": confirm_by(checked.regime, checked.request_type, checked.received_on), "status": RequestStatus.OPEN.value, "outcome": {},
        "created_by": actor.label, "created_at": now,
    } | (filed or {})
    statement = conflict_insert(session, PrivacyRequest).values(values).on_conflict_do_nothing(index_elements=["app_id", "external_id"])
    request_id = session.execute(statement.returning(PrivacyRequest.id)).scalar_one_or_none()
    if request_id is None:
        return None
    request = session.get_one(PrivacyRequest, request_id)
    record(session, actor=actor, verb="case.opened", object_type="case", object_id=case.id,
           after={"kind": case.kind, "subject_id": account.id, "queue_id": queue.id, "routed_by": case.routed_by,
                  "legal_due_at": case.legal_due_at, "privacy_request_id": request_id})
    record(session, actor=actor, verb="privacy_request.received", object_type="privacy_request", object_id=request_id,
           after=_state(request) | {"requester_name": request.requester_name, "requester_contact": request.requester_contact},
           person_ref=personal_data.account_ref(account.id))
    return request


def open_request(session: Session, actor: Actor, app_id: int, spec: RequestSpec) -> PrivacyRequest:
    """A request staff took in (by email, by post): opened in the privacy queue."""
    request = _open(session, actor, app_id, check(spec, utcnow().date()))
    assert request is not None  # no external id: nothing to clash with
    return request


class FiledMeanwhile(Exception):
    """Another transaction stored the same filing first; answer from it in a fresh transaction."""


def _body_hash(spec: RequestSpec) -> str:
    body = {"subject_external_id": spec.subject_external_id, "regime": spec.regime, "request_type": spec.request_type,
            "requester_name": spec.requester_name, "requester_contact": spec.requester_contact,
            "received_on": spec.received_on.isoformat(), "details": spec.details}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def file_for_client(db: Database, who: Submitter, external_id: str, spec: RequestSpec) -> tuple[int, bool]:
    """A request the host platform received, idempotently by (app, external id): an identical
    retry answers the original's id (and False: not created); the same id with other content is
    a Conflict. Of two sent at once, the one that loses the race answers from the winner's row."""
    digest = _body_hash(spec)
    for _attempt in range(2):
        try:
            with db.session() as session:
                stored = session.execute(
                    select(PrivacyRequest).where(PrivacyRequest.app_id == who.app_id, PrivacyRequest.external_id == external_id)
                ).scalar_one_or_none()
                if stored is not None:
                    if stored.body_hash != digest:
                        raise Conflict("external_id", f"{external_id!r} was already filed with different content; it cannot be changed")
                    return stored.id, False
                filed = {"external_id": external_id, "api_client_id": who.client_id, "body_hash": digest}
                request = _open(session, who.actor, who.app_id, check(spec, utcnow().date()), filed)
                if request is None:
                    raise FiledMeanwhile()
                return request.id, True
        except FiledMeanwhile:
            continue
    raise Conflict("external_id", f"{external_id!r} is being filed by another request; send it again")


def _state(request: PrivacyRequest) -> dict[str, Any]:
    return {"regime": request.regime, "request_type": request.request_type, "status": request.status,
            "verification": request.verification, "received_on": request.received_on.isoformat(),
            "due_on": request.due_on.isoformat(), "paused_days": request.paused_days,
            "extended_to": request.extended_to.isoformat() if request.extended_to else None, "case_id": request.case_id,
            "confirm_by": request.confirm_by.isoformat() if request.confirm_by else None,
            "receipt_confirmed_at": request.receipt_confirmed_at, "lifted_at": request.lifted_at}


def request_of(session: Session, request_id: int, *, lock: bool = False) -> PrivacyRequest:
    query = select(PrivacyRequest).where(PrivacyRequest.id == request_id)
    request = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if request is None:
        raise NotFound("request_id", f"no privacy request {request_id}")
    return request


def request_of_case(session: Session, case_id: int) -> PrivacyRequest | None:
    """The request a privacy-request case was opened for (the caller checked access to the case)."""
    return session.execute(select(PrivacyRequest).where(PrivacyRequest.case_id == case_id)).scalar_one_or_none()


def _open_locked(session: Session, request_id: int) -> PrivacyRequest:
    request = request_of(session, request_id, lock=True)
    if request.status != RequestStatus.OPEN:
        raise Conflict("request_id", f"privacy request {request_id} is {request.status}")
    return request


def legal_due(request: PrivacyRequest) -> date:
    """The date the answer is due: the extended date if extended, else the regime's date."""
    return request.extended_to or request.due_on


def _move_clock(session: Session, request: PrivacyRequest) -> None:
    case = session.get_one(Case, request.case_id)
    case.legal_due_at = case.due_at = end_of(legal_due(request))
    case.updated_at = utcnow()


def verify(session: Session, actor: Actor, request_id: int, verified: bool, note: str, *, paused_days: int = 0) -> PrivacyRequest:
    """Record the identity check: verified or failed, with who, when and how. Under UK GDPR the
    days the clock stood still waiting for proof of identity move the due date on."""
    request = _open_locked(session, request_id)
    why = text("verification_note", note, 2000)
    if not 0 <= paused_days <= MAX_PAUSED_DAYS:
        raise FieldError("paused_days", f"a whole number of days from 0 to {MAX_PAUSED_DAYS}")
    before = _state(request)
    regime = Regime(request.regime)
    request.due_on = privacy_due(regime, request.received_on, paused_days=paused_days)
    if request.extended_to is not None:
        request.extended_to = privacy_extended(regime, request.received_on, paused_days=paused_days)
    request.paused_days = paused_days
    request.verification = (Verification.VERIFIED if verified else Verification.FAILED).value
    request.verification_note, request.verified_by, request.verified_at = why, actor.label, utcnow()
    _move_clock(session, request)
    record(session, actor=actor, verb="privacy_request.identity_checked", object_type="privacy_request", object_id=request.id,
           before=before, after=_state(request) | {"note": why})
    return request


def extend(session: Session, actor: Actor, request_id: int, reason: str, today: date) -> PrivacyRequest:
    """Take the regime's one extension, with the reason the requester is told; refused where
    the regime has none, a second time, and once the first period has run out: the requester
    must be told within it (GDPR Art. 12(3), CCPA §1798.130), and an extension taken late would
    turn a missed deadline into a met one."""
    request = _open_locked(session, request_id)
    why = text("reason", reason, 2000)
    if request.extended_to is not None:
        raise Conflict("extension", f"privacy request {request_id} was extended already, to {request.extended_to}")
    extended_to = privacy_extended(Regime(request.regime), request.received_on, paused_days=request.paused_days)
    if today > request.due_on:
        raise Conflict("extension", f"the answer was due on {request.due_on}: an extension is taken, and the requester told, "
                                    "within the first period, not after it")
    before = _state(request)
    request.extended_to = extended_to
    request.extension_reason = why
    _move_clock(session, request)
    record(session, actor=actor, verb="privacy_request.extended", object_type="privacy_request", object_id=request.id,
           before=before, after=_state(request) | {"reason": why})
    return request


def confirm_receipt(session: Session, actor: Actor, request_id: int, how: str) -> PrivacyRequest:
    """Record that the requester was told their request arrived (CCPA: within 10 business days
    of receipt), with how they were told; refused where the law asks none, and a second time."""
    request = _open_locked(session, request_id)
    said = text("how", how, 2000)
    if request.confirm_by is None:
        raise Conflict("request_id", f"a {request.regime} {request.request_type} request has no receipt to confirm")
    if request.receipt_confirmed_at is not None:
        raise Conflict("request_id", f"receipt was confirmed already, by {request.receipt_confirmed_by}")
    before = _state(request)
    request.receipt_confirmed_at, request.receipt_confirmed_by, request.receipt_confirmation = utcnow(), actor.label, said
    record(session, actor=actor, verb="privacy_request.receipt_confirmed", object_type="privacy_request", object_id=request.id,
           before=before, after=_state(request) | {"how": said})
    return request


def _close(session: Session, actor: Actor, request: PrivacyRequest, status: RequestStatus, answer: str, verb: str) -> None:
    before = _state(request)
    now = utcnow()
    request.status, request.answer, request.answered_by, request.answered_at = status.value, answer, actor.label, now
    case = session.get_one(Case, request.case_id)
    case.status, case.decided_at, case.updated_at = CASE_DECIDED, now, now
    case.claimed_by = case.lease_until = None
    kept = {"text": request.statement} if request.statement else {}  # the person's own words: encrypted for them
    record(session, actor=actor, verb=verb, object_type="privacy_request", object_id=request.id, before=before,
           after=_state(request) | {"answer": answer, "outcome": request.outcome} | kept,
           person_ref=personal_data.account_ref(request.subject_id) if kept else None)


def refuse(session: Session, actor: Actor, request_id: int, reason: str) -> PrivacyRequest:
    """Refuse the request (identity not proven, manifestly unfounded), saying why."""
    request = _open_locked(session, request_id)
    _close(session, actor, request, RequestStatus.REFUSED, text("answer", reason), "privacy_request.refused")
    return request


@dataclass
class Completed:
    """An answered request, and the files a committed erasure leaves to remove."""

    request: PrivacyRequest
    blobs: list[str]


def complete(session: Session, actor: Actor, request_id: int, answer: str, statement: str = "") -> Completed:
    """Answer the request. An erasure erases first and adds to the answer what it retained and
    why; a rectification keeps `statement`, the person's correction, against their account; a
    restriction or objection withholds the person's content from automated analysis and rules."""
    request = _open_locked(session, request_id)
    if request.verification != Verification.VERIFIED:
        raise Conflict("verification", "verify the requester's identity before answering (or refuse the request)")
    said = text("answer", answer)
    kind = RequestType(request.request_type)
    blobs: list[str] = []
    if kind in CORRECTIONS:
        request.statement = text("statement", statement, MAX_STATEMENT)
    elif statement.strip():
        raise FieldError("statement", f"only a rectification keeps a statement, not a {kind.value} request")
    if kind in ERASURES:
        done, retained = _erase(session, actor, request)
        blobs = done.blobs
        said = f"{said}\n\n{erasure_statement(done, retained)}"
    elif kind in RESTRICTIONS or kind in OBJECTIONS:
        request.outcome = {"withheld_from_automation": "until lifted" if kind in RESTRICTIONS else "for good"}
    _close(session, actor, request, RequestStatus.ANSWERED, said, "privacy_request.answered")
    return Completed(request, blobs)


def lift_restriction(session: Session, actor: Actor, request_id: int, reason: str) -> PrivacyRequest:
    """End an answered restriction (GDPR Art. 18(3): the person is told before it is lifted):
    their content goes to automated analysis and rules again, unless they objected."""
    request = request_of(session, request_id, lock=True)
    why = text("reason", reason, 2000)
    if RequestType(request.request_type) not in RESTRICTIONS or request.status != RequestStatus.ANSWERED:
        raise Conflict("request_id", f"privacy request {request_id} is no answered restriction")
    if request.lifted_at is not None:
        raise Conflict("request_id", f"the restriction was lifted already, by {request.lifted_by}")
    before = _state(request)
    request.lifted_at, request.lifted_by, request.lift_reason = utcnow(), actor.label, why
    record(session, actor=actor, verb="privacy_request.restriction_lifted", object_type="privacy_request", object_id=request.id,
           before=before, after=_state(request) | {"reason": why})
    return request


@dataclass(frozen=True)
class Retained:
    """A subject an erasure left alone: the hold that covers it (or its items) and its basis."""

    external_id: str
    hold_id: int
    basis: str


def _erase(session: Session, actor: Actor, request: PrivacyRequest) -> tuple[Deletion, list[Retained]]:
    subjects = person_subjects(session, request.subject_id)
    held = covering(session, [s.id for s in subjects])
    bases = {hold_id: basis for hold_id, basis in session.execute(
        select(LegalHold.id, LegalHold.basis).where(LegalHold.id.in_(set(held.values()))))}
    retained = [Retained(s.external_id, held[s.id], bases[held[s.id]]) for s in subjects if s.id in held]
    account = next(s for s in subjects if s.id == request.subject_id)
    items = [s.id for s in subjects if s.id not in held and s.id != account.id]
    # Erasing the account erases its items with it: with some of them held, it stays too.
    if account.id not in held and held:
        hold_id = min(held.values())
        retained.insert(0, Retained(account.external_id, hold_id, bases[hold_id]))
    erasable = items + ([account.id] if not held else [])
    done = delete_subject_data(session, actor, erasable, f"privacy request {request.id} ({request.regime} erasure)") if erasable else Deletion()
    request.outcome = {
        "erased": sorted(s.external_id for s in done.erased),
        "already_erased": sorted(s.external_id for s in done.already_erased),
        "retained": [{"external_id": r.external_id, "hold_id": r.hold_id, "basis": r.basis} for r in retained],
    }
    # The host platform learns which items stay, not why: a hold's basis (an NCMEC report, a
    # law-enforcement request under a non-disclosure order) must not reach the person through it.
    outbox.announce_erasure(session, account, {"privacy_request_id": request.id, "external_id": request.external_id,
                                               "erased": request.outcome["erased"] + request.outcome["already_erased"],
                                               "retained": [r.external_id for r in retained]})
    return done, retained


def erasure_statement(done: Deletion, retained: list[Retained]) -> str:
    """What the answer tells the person: what was erased, and how much the law requires to be
    kept for now. Never which items or which hold: naming a hold's basis or the content it covers
    would tip off someone reported to NCMEC or under a law-enforcement request (no tipping off)."""
    lines = [f"Erased: {len(done.erased) + len(done.already_erased)} of your records (account and content)."]
    if retained:
        lines.append(f"Retained for now: {len(retained)} of your records, which the law requires us to keep "
                     "(GDPR Art. 17(3)(b) and (e); CCPA §1798.105(d)). They will be erased once that obligation ends.")
    return "\n".join(lines)


@dataclass(frozen=True)
class DashboardRow:
    request: PrivacyRequest
    subject_external_id: str
    due: date
    days_left: int
    breached: bool
    confirm_by: date | None  # an open request's receipt still to confirm, by then
    confirmation_breached: bool


def dashboard(session: Session, today: date, *, include_closed: bool = False, limit: int = 500) -> list[DashboardRow]:
    """Requests by the date they are due, soonest first (answered ones after the open ones);
    open ones past their date are breaches, and so are receipts left unconfirmed past theirs."""
    due = func.coalesce(PrivacyRequest.extended_to, PrivacyRequest.due_on)
    query = select(PrivacyRequest, Subject.external_id).join(Subject, Subject.id == PrivacyRequest.subject_id)
    if not include_closed:
        query = query.where(PrivacyRequest.status == RequestStatus.OPEN.value)
    query = query.order_by((PrivacyRequest.status != RequestStatus.OPEN.value), due, PrivacyRequest.id).limit(limit)
    rows = []
    for request, external_id in session.execute(query):
        on, still_open = legal_due(request), request.status == RequestStatus.OPEN
        confirm = request.confirm_by if still_open and request.receipt_confirmed_at is None else None
        rows.append(DashboardRow(request, external_id, on, (on - today).days, still_open and on < today,
                                 confirm, confirm is not None and confirm < today))
    return rows


def citation(regime: str) -> str:
    return PRIVACY_RULES[Regime(regime)].citation

