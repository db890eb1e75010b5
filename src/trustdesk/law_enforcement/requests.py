"""Law-enforcement and regulatory requests in the database: received (through the API or the
console) as a case of kind `law_enforcement_request` in the "Law-enforcement requests" queue,
reviewed by legal staff, disclosed from an evidence hold, and closed.

On receipt a preservation letter places a law-enforcement preservation hold on the named
subjects at once, and a TAKE IT DOWN request lists the known copies of the named media: the
other subjects whose media share an exact hash with it, or that matched the same bank hash
(`trustdesk.hash_banks`). A disclosure is an evidence package of a hold placed on the subjects
legal review let go out; its SHA-256 is kept with the request and its handing over is on the
hold's chain of custody. Every step is audited in its transaction.

A standing non-disclosure order keeps the request from the people it is about
(`trustdesk.law_enforcement.non_disclosure`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.cases.queues import law_enforcement_queue
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.law_enforcement import (
    REVIEWED,
    Intake,
    RequestStatus,
    ReviewOutcome,
    moved,
    review_reasons,
)
from trustdesk.domain.legal_deadlines import Instrument, instrument_due
from trustdesk.domain.legal_holds import HoldBasis, HoldSpec, reason
from trustdesk.domain.priority import Band
from trustdesk.domain.vocabulary import CaseKind, HashAlgorithm
from trustdesk.evidence import holds, package
from trustdesk.hash_banks.matcher import BankMatcher, MediaHashes
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import Case, CaseSubject, LawEnforcementRequest, MediaHash, MediaItem, Signal, Subject, utcnow

# Top-priority requests sit above every report case's score; the others with the P2 cases.
TOP_SCORE, USUAL_SCORE = 2000.0, 70.0
# The other subjects' media matching the named media: bank hash ids (`bank:{name}/{id}`) found
# by the process's bank matcher for one media file's hashes.
BankMatches = Callable[[MediaHashes], Iterable[tuple[str, int]]]


class FiledMeanwhile(Exception):
    """Another transaction stored the same filing first; answer from it in a fresh transaction."""


def body_hash(intake: Intake) -> str:
    body = {name: value.isoformat() if isinstance(value, (date, datetime)) else value for name, value in intake.__dict__.items()}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=list).encode()).hexdigest()


def bank_matches_of(matcher: BankMatcher) -> BankMatches:
    """The bank hashes one media file's hashes match, as `known_copies` asks for them."""
    return lambda hashes: [(match.bank, match.bank_hash_id) for match in matcher.match(hashes)]


def file_for_client(db: Database, actor: Actor, app_id: int, intake: Intake, external_id: str) -> tuple[int, bool]:
    """`receive` for the host platform's API client, idempotent by its external id: the
    request's id, and whether it was created. Retries sent at the same moment store one; the
    one that loses the race answers from the winner's row in a fresh transaction."""
    matches = bank_matches_of(db.shared(BankMatcher))
    for _attempt in range(2):
        try:
            with db.session() as session:
                request, created = receive(session, actor, app_id, intake, external_id=external_id, bank_matches=matches)
                return request.id, created
        except FiledMeanwhile:
            continue
    raise Conflict("external_id", f"{external_id!r} is being filed by another request; send it again")


def receive(session: Session, actor: Actor, app_id: int, intake: Intake, *, external_id: str | None = None,
            bank_matches: BankMatches | None = None) -> tuple[LawEnforcementRequest, bool]:
    """Open the request's case; an identical retry of an API filing answers the original (and
    False: not created), the same external id with another body is a Conflict."""
    now = utcnow()
    intake = intake.checked(now)
    digest = body_hash(intake)
    if external_id is not None:
        stored = session.execute(select(LawEnforcementRequest).where(
            LawEnforcementRequest.app_id == app_id, LawEnforcementRequest.external_id == external_id)).scalar_one_or_none()
        if stored is not None:
            if stored.body_hash != digest:
                raise Conflict("external_id", f"{external_id!r} was already filed with different content; it cannot be changed")
            return stored, False
    subject_ids = holds.subjects_named(session, app_id, intake.subjects)
    due = instrument_due(Instrument(intake.instrument), intake.received_at, intake.stated_due_at)
    case = _open_case(session, actor, app_id, subject_ids, intake, due, now)
    values = {
        "app_id": app_id, "case_id": case.id, "external_id": external_id, "body_hash": digest, "agency": intake.agency,
        "officer_name": intake.officer_name, "officer_email": intake.officer_email, "officer_phone": intake.officer_phone,
        "instrument": intake.instrument, "reference": intake.reference, "emergency": intake.emergency,
        "received_at": intake.received_at, "due_at": due, "non_disclosure": intake.non_disclosure,
        "non_disclosure_until": intake.non_disclosure_until, "status": RequestStatus.RECEIVED.value,
        "disclosed_subject_ids": [], "known_copies": [], "created_by": actor.label, "created_at": now, "updated_at": now,
    }
    insert = conflict_insert(session, LawEnforcementRequest).values(values)
    request_id = session.execute(insert.on_conflict_do_nothing(index_elements=["app_id", "external_id"])
                                 .returning(LawEnforcementRequest.id)).scalar_one_or_none()
    if request_id is None:
        raise FiledMeanwhile()
    request = session.get_one(LawEnforcementRequest, request_id)
    if intake.instrument == Instrument.PRESERVATION:
        hold = holds.place_hold(session, actor, subject_ids, HoldSpec(
            HoldBasis.LAW_ENFORCEMENT_PRESERVATION.value, f"preservation letter from {intake.agency}", intake.reference))
        request.preservation_hold_id = hold.id
    if intake.instrument == Instrument.TAKE_IT_DOWN and bank_matches is not None:
        request.known_copies = known_copies(session, subject_ids, bank_matches)
    record(session, actor=actor, verb="law_enforcement_request.received", object_type="law_enforcement_request",
           object_id=request.id, after={"case_id": case.id, "agency": intake.agency, "instrument": intake.instrument,
                                        "reference": intake.reference, "subjects": subject_ids, "due_at": due,
                                        "emergency": intake.emergency, "non_disclosure": intake.non_disclosure,
                                        "non_disclosure_until": intake.non_disclosure_until,
                                        "preservation_hold_id": request.preservation_hold_id,
                                        "known_copies": [c["subject_id"] for c in request.known_copies]})
    return request, True


def _open_case(session: Session, actor: Actor, app_id: int, subject_ids: list[int], intake: Intake, due: datetime,
               now: datetime) -> Case:
    """The request's case, on its legal clock: emergencies and hour deadlines at P0, first in the queue."""
    queue = law_enforcement_queue(session, actor)
    band, score = (Band.P0, TOP_SCORE) if intake.top_priority else (Band.P2, USUAL_SCORE)
    case = Case(app_id=app_id, subject_id=subject_ids[0], queue_id=queue.id, kind=CaseKind.LAW_ENFORCEMENT_REQUEST.value,
                status="open", band=band.value, priority_score=score, priority_reasons={"legal_request": score},
                report_count=0, policy_code=intake.instrument, routed_by=f"law_enforcement_request:{queue.name}",
                due_at=due, legal_due_at=due, created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    session.add_all(CaseSubject(case_id=case.id, subject_id=s) for s in subject_ids)
    record(session, actor=actor, verb="case.opened", object_type="case", object_id=case.id,
           after={"subject_ids": subject_ids, "kind": case.kind, "queue_id": queue.id, "band": band.value, "legal_due_at": due})
    return case


def known_copies(session: Session, subject_ids: Sequence[int], bank_matches: BankMatches) -> list[dict[str, object]]:
    """Other subjects whose media are copies of the named subjects' media: the same MD5 or
    SHA-256, or a signal matching a bank hash the named media match; by subject id."""
    named = set(subject_ids)
    media = session.execute(select(MediaItem).where(MediaItem.subject_id.in_(named)).order_by(MediaItem.id)).scalars().all()
    exact = [(h.algorithm, h.value) for m in media for h in m.hashes if h.algorithm in (HashAlgorithm.MD5, HashAlgorithm.SHA256)]
    found: dict[int, set[str]] = {}
    if exact:
        rows = session.execute(
            select(MediaItem.subject_id).join(MediaHash, MediaHash.media_item_id == MediaItem.id)
            .where(or_(*((MediaHash.algorithm == a) & (MediaHash.value == v) for a, v in exact)), MediaItem.subject_id.not_in(named))
        ).scalars()
        for subject_id in rows:
            found.setdefault(subject_id, set()).add("same file")
    bank_refs = sorted({f"bank:{bank}/{hash_id}" for m in media for bank, hash_id in bank_matches(_hashes(m))})
    if bank_refs:
        for subject_id, ref in session.execute(select(Signal.subject_id, Signal.match)
                                               .where(Signal.match.in_(bank_refs), Signal.subject_id.not_in(named))).all():
            found.setdefault(subject_id, set()).add(f"matched {ref}")
    externals = dict(session.execute(select(Subject.id, Subject.external_id).where(Subject.id.in_(found))).all()) if found else {}
    return [{"subject_id": s, "external_id": externals[s], "how": sorted(how)} for s, how in sorted(found.items())]


def _hashes(media: MediaItem) -> MediaHashes:
    stored = {h.algorithm: h.value for h in media.hashes}
    return MediaHashes(stored.get(HashAlgorithm.MD5.value), stored.get(HashAlgorithm.SHA256.value),
                       tuple(v for a, v in stored.items() if a == HashAlgorithm.PDQ))


def request_of(session: Session, request_id: int, *, lock: bool = False) -> LawEnforcementRequest:
    query = select(LawEnforcementRequest).where(LawEnforcementRequest.id == request_id)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        raise NotFound("request_id", f"no law-enforcement request {request_id}")
    return found


def request_of_case(session: Session, case_id: int) -> LawEnforcementRequest | None:
    """The request a law-enforcement case was opened for (the caller checked access to the case)."""
    return session.execute(select(LawEnforcementRequest).where(LawEnforcementRequest.case_id == case_id)).scalar_one_or_none()


def filed_by_app(session: Session, app_id: int, *, status: RequestStatus | None = None, before: int | None = None,
                 limit: int = 100) -> list[LawEnforcementRequest]:
    """The requests an app's API clients filed, newest first (`before`: only older ids). Those
    TrustDesk's legal staff recorded themselves are not the app's to read."""
    query = select(LawEnforcementRequest).where(LawEnforcementRequest.app_id == app_id, LawEnforcementRequest.external_id.is_not(None))
    if status is not None:
        query = query.where(LawEnforcementRequest.status == status.value)
    if before is not None:
        query = query.where(LawEnforcementRequest.id < before)
    return list(session.execute(query.order_by(LawEnforcementRequest.id.desc()).limit(limit)).scalars())


def subjects_named_by(session: Session, requests: Sequence[LawEnforcementRequest]) -> dict[int, list[tuple[int, str]]]:
    """Request id → the (id, external id) of each subject it names, in one query for them all."""
    by_case = {r.case_id: r.id for r in requests}
    named: dict[int, list[tuple[int, str]]] = {r.id: [] for r in requests}
    if by_case:
        rows = session.execute(select(CaseSubject.case_id, Subject.id, Subject.external_id)
                               .join(Subject, Subject.id == CaseSubject.subject_id)
                               .where(CaseSubject.case_id.in_(by_case)).order_by(Subject.id))
        for case_id, subject_id, external_id in rows:
            named[by_case[case_id]].append((subject_id, external_id))
    return named


def subjects_of(session: Session, request: LawEnforcementRequest) -> list[Subject]:
    return list(session.execute(select(Subject).join(CaseSubject, CaseSubject.subject_id == Subject.id)
                                .where(CaseSubject.case_id == request.case_id).order_by(Subject.id)).scalars())


def _move(session: Session, actor: Actor, request: LawEnforcementRequest, to: RequestStatus, **detail: object) -> None:
    before = request.status
    request.status, request.updated_at = moved(request.status, to).value, utcnow()
    record(session, actor=actor, verb=f"law_enforcement_request.{to.value}", object_type="law_enforcement_request",
           object_id=request.id, before={"status": before}, after={"status": to.value, **detail})


def start_review(session: Session, actor: Actor, request_id: int) -> LawEnforcementRequest:
    request = request_of(session, request_id, lock=True)
    _move(session, actor, request, RequestStatus.IN_REVIEW)
    return request


def review(session: Session, actor: Actor, request_id: int, outcome: str, reasons: str,
           narrowed_to: Sequence[int] = ()) -> LawEnforcementRequest:
    """Legal review's answer: approve (every named subject may be disclosed), narrow (only
    `narrowed_to`, some of the named ones) or reject (nothing), with reasons."""
    try:
        answer = ReviewOutcome(outcome)
    except ValueError:
        raise FieldError("outcome", f"one of {', '.join(ReviewOutcome)}") from None
    why = review_reasons(answer, reasons)
    request = request_of(session, request_id, lock=True)
    named = [s.id for s in subjects_of(session, request)]
    if answer is ReviewOutcome.NARROW:
        kept = sorted(set(narrowed_to))
        if not kept or not set(kept) < set(named):
            raise FieldError("subjects", "narrowing keeps some, not all, of the subjects the request names")
    elif narrowed_to:
        raise FieldError("subjects", "only a narrowing names subjects")
    else:
        kept = named if answer is ReviewOutcome.APPROVE else []
    request.review_outcome, request.review_reasons = answer.value, why
    request.reviewed_by, request.reviewed_at, request.disclosed_subject_ids = actor.label, utcnow(), kept
    _move(session, actor, request, REVIEWED[answer], outcome=answer.value, reasons=why, subjects=kept)
    return request


def disclose(session: Session, actor: Actor, blobs: BlobStore, request_id: int, why: str) -> bytes:
    """Build the disclosure package of an approved or narrowed request: a hold on the subjects
    review let go out, exported and handed to the agency on its chain of custody. Returns the
    package; its SHA-256 stays with the request."""
    why = reason(why)
    request = request_of(session, request_id, lock=True)
    moved(request.status, RequestStatus.DISCLOSED)
    hold = holds.place_hold(session, actor, request.disclosed_subject_ids, HoldSpec(
        HoldBasis.LAW_ENFORCEMENT_PRESERVATION.value, f"disclosure to {request.agency}: {why}", request.reference))
    package.record_export(session, actor, hold.id, why)
    holds.record_transfer(session, actor, hold.id, f"{request.agency} ({request.officer_name})", why)
    session.flush()
    buffer = io.BytesIO()
    package.write_package(session, blobs, hold.id, buffer)
    data = buffer.getvalue()
    request.disclosure_hold_id, request.disclosure_sha256 = hold.id, hashlib.sha256(data).hexdigest()
    request.disclosed_at = utcnow()
    _move(session, actor, request, RequestStatus.DISCLOSED, hold_id=hold.id, sha256=request.disclosure_sha256)
    return data


def close(session: Session, actor: Actor, request_id: int, note: str) -> LawEnforcementRequest:
    """Close the request and its case."""
    note = reason(note)
    request = request_of(session, request_id, lock=True)
    _move(session, actor, request, RequestStatus.CLOSED, note=note)
    now = utcnow()
    request.closed_at = now
    case = session.execute(select(Case).where(Case.id == request.case_id).with_for_update()).scalar_one()
    case.status, case.decided_at, case.updated_at = "decided", now, now
    case.claimed_by = case.lease_until = None
    return request


@dataclass(frozen=True)
class DashboardRow:
    request: LawEnforcementRequest
    overdue: bool


def dashboard(session: Session, *, include_closed: bool = False) -> list[DashboardRow]:
    """Requests by deadline: emergencies first, then soonest due; overdue ones flagged."""
    query = select(LawEnforcementRequest)
    if not include_closed:
        query = query.where(LawEnforcementRequest.status != RequestStatus.CLOSED.value)
    rows = session.execute(query.order_by(LawEnforcementRequest.emergency.desc(), LawEnforcementRequest.due_at,
                                          LawEnforcementRequest.id)).scalars().all()
    now = utcnow()
    return [dashboard_row(r, now) for r in rows]


def dashboard_row(request: LawEnforcementRequest, now: datetime | None = None) -> DashboardRow:
    """Overdue: past its deadline and not yet answered (disclosed or closed)."""
    answered = request.status in (RequestStatus.DISCLOSED, RequestStatus.CLOSED)
    return DashboardRow(request, not answered and request.due_at < (now or utcnow()))
