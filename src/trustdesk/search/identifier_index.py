"""Keyed digests of personal identifiers, written where the identifiers arrive.

Intake calls these in the same transaction as the rows it writes: a subject's email and phone
(`personal`), a report's notifier email, an account event's IP, device id, payment fingerprint
and phone hash (filed under the account). `rebuild` writes them again for every stored row:
`trustdesk db upgrade` runs it when the migration that made the table has just run, and
`trustdesk search reindex` after the secret key changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trustdesk.audit.personal_data import lookup_digest
from trustdesk.domain.identifiers import EVENT_KINDS, IdentifierKind, normalise
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import AccountEvent, IdentifierDigest, Report, Subject

_PERSONAL_KINDS = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
_BATCH = 5000

Carrier = tuple[str, int]  # ("subject" | "report", id)


def digest_of(kind: IdentifierKind, value: str) -> str | None:
    canonical = normalise(kind, value)
    return None if canonical is None else lookup_digest(kind.value, canonical)


def _rows(found: Iterable[tuple[Carrier, IdentifierKind, Any]]) -> Iterator[dict[str, Any]]:
    for (object_type, object_id), kind, value in found:
        digest = digest_of(kind, value) if isinstance(value, str) else None
        if digest:
            yield {"kind": kind.value, "digest": digest, "object_type": object_type, "object_id": object_id}


def _write(session: Session, found: Iterable[tuple[Carrier, IdentifierKind, Any]]) -> int:
    rows = list({tuple(r.values()): r for r in _rows(found)}.values())
    if rows:
        session.execute(conflict_insert(session, IdentifierDigest).on_conflict_do_nothing(), rows)
    return len(rows)


def index_subjects(session: Session, subjects: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """(subject id, its `personal` fields) of new subjects."""
    _write(session, ((("subject", sid), kind, (personal or {}).get(kind.value)) for sid, personal in subjects for kind in _PERSONAL_KINDS))


def reindex_subject(session: Session, subject_id: int, personal: dict[str, Any]) -> None:
    """A subject's personal fields changed: its email and phone digests are replaced."""
    session.execute(delete(IdentifierDigest).where(
        IdentifierDigest.object_type == "subject", IdentifierDigest.object_id == subject_id,
        IdentifierDigest.kind.in_([k.value for k in _PERSONAL_KINDS]),
    ))
    index_subjects(session, [(subject_id, personal)])


def index_reports(session: Session, reports: Iterable[tuple[int, str | None]]) -> None:
    """(report id, notifier email) of new reports."""
    _write(session, ((("report", rid), IdentifierKind.EMAIL, email) for rid, email in reports))


def index_account_events(session: Session, events: Iterable[dict[str, Any]]) -> None:
    """New account events (with `account_id` and the identifier columns), filed under the account."""
    _write(session, ((("subject", e["account_id"]), kind, e.get(kind.value)) for e in events for kind in EVENT_KINDS))


def rebuild(session: Session) -> int:
    """Write the digests of every stored subject, report and account event; returns how many."""
    written = 0
    session.execute(delete(IdentifierDigest))
    for batch in _batches(session, select(Subject.id, Subject.personal), Subject.id):
        written += _write(session, ((("subject", r.id), k, (r.personal or {}).get(k.value)) for r in batch for k in _PERSONAL_KINDS))
    for batch in _batches(session, select(Report.id, Report.notifier_email).where(Report.notifier_email.is_not(None)), Report.id):
        written += _write(session, ((("report", r.id), IdentifierKind.EMAIL, r.notifier_email) for r in batch))
    columns = [getattr(AccountEvent, k.value) for k in EVENT_KINDS]
    for batch in _batches(session, select(AccountEvent.id, AccountEvent.account_id, *columns), AccountEvent.id):
        written += _write(session, ((("subject", r.account_id), k, getattr(r, k.value)) for r in batch for k in EVENT_KINDS))
    return written


def _batches(session: Session, query: Any, key: Any) -> Iterator[list[Any]]:
    """The query's rows, a batch at a time, by keyset on `key`."""
    last = 0
    while True:
        batch = session.execute(query.where(key > last).order_by(key).limit(_BATCH)).all()
        if not batch:
            return
        yield batch
        last = batch[-1][0]
