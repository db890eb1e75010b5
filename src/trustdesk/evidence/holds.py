"""Legal holds in the database: placed on subjects with a snapshot of everything about them,
extended, released, read; and which holds cover which subjects.

Placing a hold locks the subjects' rows before reading them, as the deletion path does before
deleting (`trustdesk.privacy.deletion`): a hold and a deletion of the same subject take turns,
so the snapshot is never of half-deleted data and a deletion never misses a hold placed
meanwhile. The evidence set is written once and never updated; media files are kept by
reference to their blob, which the deletion path leaves alone while any evidence item names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import FieldError, NotFound
from trustdesk.domain.legal_holds import (
    GENESIS_HASH,
    MAX_SUBJECTS,
    CustodyVerb,
    EvidenceKind,
    HoldSpec,
    HoldStatus,
    canonical_bytes,
    expiry,
    extended,
    items_digest,
    reason,
    sha256,
)
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.evidence import custody
from trustdesk.store.models import (
    AccountEvent,
    Base,
    Blob,
    Decision,
    EnforcementAction,
    EvidenceItem,
    HoldSubject,
    LegalHold,
    MediaItem,
    Report,
    Subject,
    utcnow,
)

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class HoldView:
    hold: LegalHold
    subjects: list[Subject]  # the ones named when it was placed
    covered: int  # subjects it covers, the named accounts' items included
    items: list[EvidenceItem]

    @property
    def active(self) -> bool:
        return self.hold.released_at is None


def place_hold(session: Session, actor: Actor, subject_ids: Sequence[int], spec: HoldSpec) -> LegalHold:
    """Place a hold on the subjects (an account's items with it) and snapshot their evidence."""
    now = utcnow()
    spec = spec.checked(now.date())
    named = _locked_subjects(session, subject_ids)
    covered = _with_account_items(session, named)
    hold = LegalHold(basis=spec.basis, reason=spec.reason, reference=spec.reference, placed_by=actor.label, placed_at=now,
                     review_on=spec.review_on, expires_at=expiry(spec.basis, now), custody_seq=0, custody_head=GENESIS_HASH)
    session.add(hold)
    session.flush()
    named_ids = {s.id for s in named}
    session.add_all(HoldSubject(hold_id=hold.id, subject_id=s.id, named=s.id in named_ids) for s in covered)
    items = _snapshot(session, hold.id, covered)
    session.add_all(items)
    session.flush()
    digest = items_digest([(i.position, i.kind, i.sha256) for i in items])
    custody.append(session, hold.id, actor, CustodyVerb.PLACE, spec.reason,
                   {"basis": spec.basis, "subjects": sorted(named_ids), "covered": len(covered), "items": len(items),
                    "items_digest": digest})
    record(session, actor=actor, verb="legal_hold.placed", object_type="legal_hold", object_id=hold.id,
           after={"basis": hold.basis, "reference": hold.reference, "subjects": sorted(named_ids), "items": len(items),
                  "expires_at": hold.expires_at, "review_on": hold.review_on})
    return hold


def subjects_named(session: Session, app_id: int, external_ids: Sequence[str]) -> list[int]:
    """The ids of an app's subjects by their external ids (as the host platform names them)."""
    wanted = [e.strip() for e in external_ids if e.strip()]
    found = dict(session.execute(select(Subject.external_id, Subject.id).where(Subject.app_id == app_id, Subject.external_id.in_(wanted))).all())
    missing = [e for e in wanted if e not in found]
    if missing:
        raise NotFound("subjects", f"no subject {missing[0]!r} in this app")
    return [found[e] for e in wanted]


def _locked_subjects(session: Session, subject_ids: Sequence[int]) -> list[Subject]:
    wanted = sorted(set(subject_ids))
    if not wanted:
        raise FieldError("subjects", "name at least one subject")
    if len(wanted) > MAX_SUBJECTS:
        raise FieldError("subjects", f"at most {MAX_SUBJECTS} subjects in one hold")
    found = list(session.execute(select(Subject).where(Subject.id.in_(wanted)).order_by(Subject.id).with_for_update()).scalars())
    missing = set(wanted) - {s.id for s in found}
    if missing:
        raise NotFound("subjects", f"no subject {min(missing)}")
    return found


def _with_account_items(session: Session, named: list[Subject]) -> list[Subject]:
    accounts = [s.id for s in named if s.kind == SubjectKind.ACCOUNT]
    items = session.execute(
        select(Subject).where(Subject.account_id.in_(accounts), Subject.id.not_in([s.id for s in named]))
        .order_by(Subject.id).with_for_update()
    ).scalars() if accounts else []
    return sorted([*named, *items], key=lambda s: s.id)


def _row(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _snapshot(session: Session, hold_id: int, subjects: list[Subject]) -> list[EvidenceItem]:
    """Everything about the subjects, as it is now: a record per row, a reference per media file."""
    items: list[EvidenceItem] = []

    def add(kind: EvidenceKind, source_id: int, subject_id: int, record_: dict[str, Any]) -> None:
        body = canonical_bytes(record_)
        items.append(EvidenceItem(hold_id=hold_id, position=len(items) + 1, kind=kind.value, source_id=source_id,
                                  subject_id=subject_id, sha256=sha256(body), content_type=JSON_TYPE, size=len(body), body=body))

    for subject in subjects:
        media = list(session.execute(select(MediaItem).where(MediaItem.subject_id == subject.id).order_by(MediaItem.position)).scalars())
        add(EvidenceKind.SUBJECT, subject.id, subject.id,
            _row(subject) | {"media": [_row(m) | {"hashes": {h.algorithm: h.value for h in m.hashes}} for m in media]})
        for m in media:
            blob = session.get(Blob, m.blob_sha256) if m.blob_sha256 else None
            if blob is not None:
                items.append(EvidenceItem(hold_id=hold_id, position=len(items) + 1, kind=EvidenceKind.MEDIA.value, source_id=m.id,
                                          subject_id=subject.id, sha256=blob.sha256, content_type=blob.content_type,
                                          size=blob.size, blob_sha256=blob.sha256))
        for report in session.execute(select(Report).where(Report.subject_id == subject.id).order_by(Report.id)).scalars():
            add(EvidenceKind.REPORT, report.id, subject.id, _row(report))
        for decision in session.execute(select(Decision).where(Decision.subject_id == subject.id).order_by(Decision.id)).scalars():
            actions = session.execute(select(EnforcementAction).where(EnforcementAction.decision_id == decision.id)
                                      .order_by(EnforcementAction.id)).scalars()
            add(EvidenceKind.DECISION, decision.id, subject.id, _row(decision) | {"enforcement_actions": [_row(a) for a in actions]})
        if subject.kind == SubjectKind.ACCOUNT:
            events = session.execute(select(AccountEvent).where(AccountEvent.account_id == subject.id).order_by(AccountEvent.id)).scalars()
            for event in events:
                add(EvidenceKind.ACCOUNT_EVENT, event.id, subject.id, _row(event))
    return items


def hold_of(session: Session, hold_id: int, *, lock: bool = False) -> LegalHold:
    query = select(LegalHold).where(LegalHold.id == hold_id)
    hold = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if hold is None:
        raise NotFound("hold_id", f"no legal hold {hold_id}")
    return hold


def extend_hold(session: Session, actor: Actor, hold_id: int, why: str) -> LegalHold:
    """A renewed preservation request: 90 more days from the current end."""
    why = reason(why)
    hold = _active(session, hold_id)
    before = hold.expires_at
    hold.expires_at = extended(hold.basis, hold.expires_at)
    custody.append(session, hold.id, actor, CustodyVerb.EXTEND, why, {"expires_at_before": before, "expires_at": hold.expires_at})
    record(session, actor=actor, verb="legal_hold.extended", object_type="legal_hold", object_id=hold.id,
           before={"expires_at": before}, after={"expires_at": hold.expires_at, "reason": why})
    return hold


def release_hold(session: Session, actor: Actor, hold_id: int, why: str, *, at: datetime | None = None) -> LegalHold:
    """End a hold (`at`: when it ended, if not now; a hold whose clock ran out ended then):
    what it covered may be deleted again, and its evidence is purged when due."""
    why = reason(why)
    hold = _active(session, hold_id)
    hold.released_at, hold.released_by = at or utcnow(), actor.label
    custody.append(session, hold.id, actor, CustodyVerb.RELEASE, why)
    record(session, actor=actor, verb="legal_hold.released", object_type="legal_hold", object_id=hold.id,
           after={"released_at": hold.released_at, "reason": why})
    return hold


def _active(session: Session, hold_id: int) -> LegalHold:
    hold = hold_of(session, hold_id, lock=True)
    if hold.released_at is not None:
        raise FieldError("hold_id", f"legal hold {hold_id} was released; place a new one")
    return hold


def read_item(session: Session, actor: Actor, hold_id: int, item_id: int, why: str) -> EvidenceItem:
    """One evidence item, its reading recorded in the hold's custody log with who and why."""
    why = reason(why)
    item = session.execute(select(EvidenceItem).where(EvidenceItem.id == item_id, EvidenceItem.hold_id == hold_id)).scalar_one_or_none()
    if item is None:
        raise NotFound("item_id", f"legal hold {hold_id} holds no evidence item {item_id}")
    custody.append(session, hold_id, actor, CustodyVerb.READ, why, {"item": item.position, "sha256": item.sha256})
    return item


def record_transfer(session: Session, actor: Actor, hold_id: int, recipient: str, why: str) -> None:
    """Evidence handed to someone outside (an agency, NCMEC, counsel), on the record."""
    why = reason(why)
    if not recipient.strip():
        raise FieldError("recipient", "say to whom")
    hold_of(session, hold_id)
    custody.append(session, hold_id, actor, CustodyVerb.TRANSFER, why, {"recipient": recipient.strip()})


def items_of(session: Session, hold_id: int) -> list[EvidenceItem]:
    return list(session.execute(select(EvidenceItem).where(EvidenceItem.hold_id == hold_id).order_by(EvidenceItem.position)).scalars())


def view(session: Session, hold_id: int) -> HoldView:
    hold = hold_of(session, hold_id)
    rows = session.execute(select(HoldSubject.named, Subject).join(Subject, Subject.id == HoldSubject.subject_id)
                           .where(HoldSubject.hold_id == hold_id).order_by(Subject.id)).all()
    return HoldView(hold, [s for named, s in rows if named], len(rows), items_of(session, hold_id))


def list_holds(session: Session, status: HoldStatus | None = None) -> list[LegalHold]:
    """Standing holds first, soonest to expire first; then released ones, latest first
    (`status`: only the standing or only the released ones)."""
    query = select(LegalHold).order_by(LegalHold.id.desc())
    if status is not None:
        query = query.where(LegalHold.released_at.is_(None) if status is HoldStatus.STANDING else LegalHold.released_at.is_not(None))
    rows = session.execute(query).scalars().all()
    standing = sorted((h for h in rows if h.released_at is None), key=lambda h: (h.expires_at is None, h.expires_at or h.placed_at))
    return [*standing, *(h for h in rows if h.released_at is not None)]


def covering(session: Session, subject_ids: Iterable[int]) -> dict[int, int]:
    """Subject id → the id of a standing hold that covers it (the oldest), for those covered."""
    ids = list(set(subject_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(HoldSubject.subject_id, HoldSubject.hold_id).join(LegalHold, LegalHold.id == HoldSubject.hold_id)
        .where(HoldSubject.subject_id.in_(ids), LegalHold.released_at.is_(None)).order_by(HoldSubject.hold_id.desc())
    ).all()
    return {subject_id: hold_id for subject_id, hold_id in rows}
