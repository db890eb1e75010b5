"""The retention clock: a recurring worker job that ends holds whose time ran out and erases
what no hold covers once its kind's retention (`Settings.retention`) has passed.

Everything goes through the one deletion path (`trustdesk.privacy.deletion`), a batch per
transaction: content items (not accounts, whose contact data goes when the host platform deletes
them or the person asks) unchanged for the `content` retention, account events' network
identifiers older than the `network` retention, and released holds' evidence sets the
`evidence` retention after release. Files no row claims any more (a process stopped between an
erasure's commit and its file removal, an upload never recorded) go too. A hold placed while a batch runs makes the deletion path
refuse; the batch rolls back and the next run leaves that subject out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from trustdesk.audit.log import Actor
from trustdesk.config import Settings
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.evidence.holds import release_hold
from trustdesk.jobs.registry import WorkerContext, job_kind
from trustdesk.privacy.deletion import delete_subject_data, erase_network_identifiers, purge_evidence, remove_files, sweep_files
from trustdesk.store.blobs import BlobStore
from trustdesk.store.database import Database
from trustdesk.store.models import EvidenceItem, HoldSubject, LegalHold, Subject, utcnow

CLOCK = Actor("system", "retention")
BATCH = 200


@dataclass
class Purged:
    holds_released: int = 0
    evidence_items: int = 0
    subjects: int = 0
    account_events: int = 0
    files: int = 0
    unclaimed_files: int = 0


def purge_due(db: Database, settings: Settings, blobs: BlobStore, *, now: datetime | None = None) -> Purged:
    """Everything that is due at `now`, in order: holds run out, then what they no longer cover."""
    moment = now or utcnow()
    done = Purged()
    _release_expired(db, moment, done)
    _purge_released_evidence(db, blobs, moment - settings.retention("evidence"), done)
    _erase_old_content(db, blobs, moment - settings.retention("content"), done)
    _erase_old_identifiers(db, moment - settings.retention("network"), done)
    done.unclaimed_files = sweep_files(db, blobs, moment)
    return done


def _release_expired(db: Database, moment: datetime, done: Purged) -> None:
    with db.session() as session:
        expired = session.execute(select(LegalHold.id, LegalHold.basis, LegalHold.expires_at).where(
            LegalHold.released_at.is_(None), LegalHold.expires_at <= moment).order_by(LegalHold.id)).all()
    for hold_id, basis, expires_at in expired:
        with db.session() as session:
            release_hold(session, CLOCK, hold_id, f"its retention clock ran out ({basis})", at=expires_at)
        done.holds_released += 1


def _purge_released_evidence(db: Database, blobs: BlobStore, released_before: datetime, done: Purged) -> None:
    with db.session() as session:
        due = session.execute(select(LegalHold.id).where(
            LegalHold.released_at <= released_before, select(EvidenceItem.id).where(EvidenceItem.hold_id == LegalHold.id).exists()
        ).order_by(LegalHold.id)).scalars().all()
    for hold_id in due:
        with db.session() as session:
            purged = purge_evidence(session, CLOCK, session.get_one(LegalHold, hold_id), "evidence past its retention after release")
        done.evidence_items += purged.evidence_items
        done.files += remove_files(db, blobs, purged.blobs)


def _erase_old_content(db: Database, blobs: BlobStore, unchanged_since: datetime, done: Purged) -> None:
    held = select(HoldSubject.subject_id).join(LegalHold, LegalHold.id == HoldSubject.hold_id).where(LegalHold.released_at.is_(None))
    after = 0
    while True:
        with db.session() as session:
            due = session.execute(select(Subject.id).where(
                Subject.id > after, Subject.erased_at.is_(None), Subject.kind != SubjectKind.ACCOUNT.value,
                Subject.updated_at <= unchanged_since, Subject.id.not_in(held),
            ).order_by(Subject.id).limit(BATCH)).scalars().all()
            if not due:
                return
            erased = delete_subject_data(session, CLOCK, due, "content past its retention")
        after = due[-1]
        done.subjects += len(erased.erased)
        done.files += remove_files(db, blobs, erased.blobs)


def _erase_old_identifiers(db: Database, before: datetime, done: Purged) -> None:
    while True:
        with db.session() as session:
            count = erase_network_identifiers(session, CLOCK, before, "network identifiers past their retention", limit=BATCH)
        if not count:
            return
        done.account_events += count


@dataclass(frozen=True)
class RetentionPurge:
    """The recurring purge (no fields: it takes everything that is due)."""


@job_kind("retention_purge", RetentionPurge, every=timedelta(hours=1))
def retention_purge(ctx: WorkerContext, _job: RetentionPurge) -> None:
    purge_due(ctx.db, ctx.settings, ctx.blobs)
