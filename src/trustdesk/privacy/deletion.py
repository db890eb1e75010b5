"""The one deletion path: every deletion of personal data goes through here.

The host platform's deletion events (`POST /api/v1/subjects/{external_id}/deleted`), retention
purges (`trustdesk.privacy.retention`) and privacy erasures (`trustdesk.privacy.requests`) all call
`delete_subject_data`. It locks the subjects' rows, then refuses with `Held` (409, naming the
hold) if a standing legal hold covers any of them, so a hold placed a moment earlier is seen
and one placed a moment later waits and snapshots what is left. Otherwise it erases TrustDesk's
copy of what the registry (`personal_data_registry`) declares personal about the subject: its
content and contact fields, media files no other subject or evidence set uses, the account's
events' network identifiers and their search digests, signals' evidence and rules' inputs, and
the person's audit-payload key (crypto-shredding: the chain stays intact, unreadable). The
subject row stays, erased, with the pseudonym and the records of decisions about it.

Blob files are removed after the transaction commits (`remove_files`), so a rollback never
leaves a row pointing at a file that is gone; a crash in between leaves only unreferenced files,
which the retention job then removes (`sweep_files`), as it does files whose upload never got
recorded. Both steps take turns on each blob with writers of the same bytes (`trustdesk.store.blobs`), so
an upload of an erased file's bytes to another subject keeps the file, or is refused to be sent again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from trustdesk.audit import personal_data
from trustdesk.audit.log import Actor, record
from trustdesk.domain.errors import FieldError, Held
from trustdesk.domain.legal_holds import reason as checked_reason
from trustdesk.domain.vocabulary import SubjectKind
from trustdesk.evidence.holds import covering
from trustdesk.store.blobs import BlobStore, lock_blob
from trustdesk.store.database import Database
from trustdesk.store.models import (
    AccountEvent,
    Blob,
    EvidenceItem,
    HoldSubject,
    IdentifierDigest,
    LegalHold,
    MediaHash,
    MediaItem,
    Report,
    RuleEvaluation,
    Signal,
    Subject,
    utcnow,
)

MAX_SUBJECTS = 1000


@dataclass
class Deletion:
    """What one call deleted; `blobs` are the files to remove once the transaction committed."""

    erased: list[Subject] = field(default_factory=list)
    already_erased: list[Subject] = field(default_factory=list)
    media_items: int = 0
    account_events: int = 0
    person_keys: int = 0
    evidence_items: int = 0
    blobs: list[str] = field(default_factory=list)


def delete_subject_data(session: Session, actor: Actor, subject_ids: Sequence[int], reason: str) -> Deletion:
    """Erase TrustDesk's copy of the subjects' personal data (an account's items with it).

    Raises `Held` naming the hold if a standing legal hold covers any of them: then nothing is
    deleted. Erasing a subject erased before deletes nothing more (idempotent).
    """
    why = checked_reason(reason)
    subjects = _locked(session, subject_ids)
    held = covering(session, [s.id for s in subjects])
    if held:
        first = min(held)
        subject = next(s for s in subjects if s.id == first)
        raise Held(held[first], f"legal hold {held[first]} covers subject {subject.external_id!r} ({subject.kind}); "
                                "nothing it covers can be deleted while it stands")
    done = Deletion()
    now = utcnow()
    for subject in subjects:
        if subject.erased_at is not None:
            done.already_erased.append(subject)
            continue
        _erase(session, subject, done)
        subject.erased_at = subject.updated_at = now
        done.erased.append(subject)
        record(session, actor=actor, verb="subject.erased", object_type="subject", object_id=subject.id,
               after={"reason": why, "erased_at": now})
    done.blobs = _drop_unused_blobs(session, done.blobs)
    return done


def _locked(session: Session, subject_ids: Sequence[int]) -> list[Subject]:
    wanted = sorted(set(subject_ids))
    if not wanted:
        raise FieldError("subjects", "name at least one subject")
    if len(wanted) > MAX_SUBJECTS:
        raise FieldError("subjects", f"at most {MAX_SUBJECTS} subjects at once")
    accounts = select(Subject.id).where(Subject.id.in_(wanted), Subject.kind == SubjectKind.ACCOUNT.value)
    query = select(Subject).where(Subject.id.in_(wanted) | Subject.account_id.in_(accounts)).order_by(Subject.id)
    return list(session.execute(query.with_for_update()).scalars())


def _erase(session: Session, subject: Subject, done: Deletion) -> None:
    subject.title = subject.text = subject.url = subject.media_url = None
    subject.personal, subject.attributes = {}, {}
    media = list(session.execute(select(MediaItem.id, MediaItem.blob_sha256).where(MediaItem.subject_id == subject.id)))
    if media:
        ids = [m.id for m in media]
        session.execute(delete(MediaHash).where(MediaHash.media_item_id.in_(ids)))
        session.execute(delete(MediaItem).where(MediaItem.id.in_(ids)))
        done.media_items += len(ids)
        done.blobs.extend(m.blob_sha256 for m in media if m.blob_sha256)
    session.execute(update(Signal).where(Signal.subject_id == subject.id).values(evidence={}, match=None))
    session.execute(update(RuleEvaluation).where(RuleEvaluation.subject_id == subject.id).values(inputs={}, errors=[]))
    session.execute(delete(IdentifierDigest).where(IdentifierDigest.object_type == "subject", IdentifierDigest.object_id == subject.id))
    if subject.kind != SubjectKind.ACCOUNT:
        return
    result = session.execute(update(AccountEvent).where(AccountEvent.account_id == subject.id).values(
        ip=None, device_id=None, payment_fingerprint=None, phone_hash=None, attributes={}))
    done.account_events += result.rowcount or 0
    # Notices the account filed as a user: who filed them goes; what they reported stays.
    reports = select(Report.id).where(Report.reporter_subject_id == subject.id)
    session.execute(delete(IdentifierDigest).where(IdentifierDigest.object_type == "report", IdentifierDigest.object_id.in_(reports)))
    session.execute(update(Report).where(Report.reporter_subject_id == subject.id).values(notifier_name=None, notifier_email=None))
    done.person_keys += personal_data.destroy_key(session, personal_data.account_ref(subject.id))


def erase_network_identifiers(session: Session, actor: Actor, before: datetime, reason: str, *, limit: int) -> int:
    """Erase the IPs, device ids and payment identifiers of up to `limit` account events older
    than `before`, of accounts no standing hold covers; returns how many events."""
    why = checked_reason(reason)
    held = select(HoldSubject.subject_id).join(LegalHold, LegalHold.id == HoldSubject.hold_id).where(LegalHold.released_at.is_(None))
    identified = (AccountEvent.ip.is_not(None) | AccountEvent.device_id.is_not(None) | AccountEvent.payment_fingerprint.is_not(None)
                  | AccountEvent.phone_hash.is_not(None))
    due = list(session.execute(
        select(AccountEvent.id).where(AccountEvent.occurred_at < before, identified, AccountEvent.account_id.not_in(held))
        .order_by(AccountEvent.id).limit(limit).with_for_update()
    ).scalars())
    if not due:
        return 0
    session.execute(update(AccountEvent).where(AccountEvent.id.in_(due)).values(
        ip=None, device_id=None, payment_fingerprint=None, phone_hash=None, attributes={}))
    record(session, actor=actor, verb="account_events.identifiers_erased", object_type="account_event", object_id=due[0],
           after={"reason": why, "events": len(due), "occurred_before": before})
    return len(due)


def purge_evidence(session: Session, actor: Actor, hold: LegalHold, reason: str) -> Deletion:
    """Delete a released hold's evidence set (its custody log stays, as the record of it)."""
    if hold.released_at is None:
        raise Held(hold.id, f"legal hold {hold.id} stands: its evidence is kept until it is released")
    done = Deletion()
    done.blobs = list(session.execute(select(EvidenceItem.blob_sha256).where(EvidenceItem.hold_id == hold.id,
                                                                              EvidenceItem.blob_sha256.is_not(None))).scalars())
    done.evidence_items = session.execute(delete(EvidenceItem).where(EvidenceItem.hold_id == hold.id)).rowcount or 0
    if done.evidence_items:
        record(session, actor=actor, verb="legal_hold.evidence_purged", object_type="legal_hold", object_id=hold.id,
               after={"reason": checked_reason(reason), "items": done.evidence_items})
    done.blobs = _drop_unused_blobs(session, done.blobs)
    return done


def _drop_unused_blobs(session: Session, candidates: Iterable[str]) -> list[str]:
    """Delete the rows of the blobs no media item and no evidence item uses any more."""
    unused = []
    for sha in sorted(set(candidates)):  # in order: two erasures take the blobs' turns alike
        lock_blob(session, sha)
        used = session.execute(select(exists(select(MediaItem.id).where(MediaItem.blob_sha256 == sha))
                                      | exists(select(EvidenceItem.id).where(EvidenceItem.blob_sha256 == sha)))).scalar_one()
        if not used:
            session.execute(delete(Blob).where(Blob.sha256 == sha))
            unused.append(sha)
    return unused


def remove_files(db: Database, blobs: BlobStore, shas: Iterable[str]) -> int:
    """Remove the files of blobs whose rows a committed deletion dropped, unless the same bytes
    were recorded again meanwhile (their row is back); returns how many went."""
    wanted = sorted(set(shas))
    if not wanted:
        return 0
    with db.session() as session:
        for sha in wanted:
            lock_blob(session, sha)
        kept = set(session.execute(select(Blob.sha256).where(Blob.sha256.in_(wanted))).scalars())
        return sum(blobs.delete(sha) for sha in wanted if sha not in kept)


# Files written longer ago than this and still claimed by no row are left over: an upload records
# its file within the request, a media fetch within its job.
UNCLAIMED_FOR = timedelta(hours=1)
_SWEEP_CHUNK = 500


def sweep_files(db: Database, blobs: BlobStore, now: datetime) -> int:
    """Remove the files no blob row claims that were written before `now - UNCLAIMED_FOR`: those
    of an erasure whose process stopped between its commit and `remove_files` (erased content must
    not outlive its erasure), of uploads whose transaction never committed, and half-written ones;
    returns how many went. The rows are read without holding a write turn; a candidate is removed
    under the blob's turn, only if no row claims it by then (`remove_files`)."""
    written_before = now - UNCLAIMED_FOR
    removed = blobs.discard_unfinished(written_before)
    names = blobs.names(written_before)
    while chunk := list(itertools.islice(names, _SWEEP_CHUNK)):
        with db.reader() as session:
            claimed = set(session.execute(select(Blob.sha256).where(Blob.sha256.in_(chunk))).scalars())
        removed += remove_files(db, blobs, [sha for sha in chunk if sha not in claimed])
    return removed
