"""Hash banks in the database: created, filled from lists or from decided cases, emptied one
hash at a time.

Adding is `INSERT … ON CONFLICT DO NOTHING` on the live-row unique index, so an import run
twice adds nothing the second time, and two staff adding the same picture at once add it once.
Removal is soft (`removed_at`): every worker's matcher sees the row go (`trustdesk.hash_banks.matcher`),
and the value may be added again later as a new row. Each change is one audit event: an import
of a million hashes is one event with its counts, not a million.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.analysis.hashing.pdq import UnreadableImage, hash_image, open_image
from trustdesk.audit.log import Actor, record
from trustdesk.cases.access import Reviewer, visible_case
from trustdesk.domain.errors import Conflict, FieldError, NotFound
from trustdesk.domain.hash_banks import MIN_PDQ_QUALITY, BankEntry, BankSpec, check_bank, entry
from trustdesk.domain.vocabulary import HashAlgorithm, MediaKind, MediaStatus
from trustdesk.store.blobs import BlobStore
from trustdesk.store.dialects import conflict_insert
from trustdesk.store.models import BankHash, HashBank, MediaHash, MediaItem, utcnow
from trustdesk.store.unique_names import claimed

_CHUNK = 10_000  # rows held in memory at a time while importing
LIVE = BankHash.removed_at.is_(None)


@dataclass(frozen=True)
class BankSummary:
    bank: HashBank
    counts: dict[str, int] = field(default_factory=dict)  # live hashes per algorithm

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def create_bank(session: Session, actor: Actor, spec: BankSpec) -> HashBank:
    spec = check_bank(spec)
    bank = HashBank(name=spec.name, kind=spec.kind, description=spec.description, pdq_threshold=spec.pdq_threshold,
                    policy_code=spec.policy_code, action=spec.action, active=True, created_by=actor.label)
    with claimed(session, Conflict("name", f"another bank is called {spec.name!r}")):
        session.add(bank)
    record(session, actor=actor, verb="hash_bank.created", object_type="hash_bank", object_id=bank.id, after=_settings(bank))
    return bank


def _settings(bank: HashBank) -> dict[str, object]:
    return {"name": bank.name, "kind": bank.kind, "description": bank.description, "pdq_threshold": bank.pdq_threshold,
            "policy_code": bank.policy_code, "action": bank.action, "active": bank.active}


def update_bank(session: Session, actor: Actor, bank: HashBank, spec: BankSpec, *, active: bool) -> HashBank:
    """Change a bank's settings; every matcher applies them at its next refresh."""
    spec = check_bank(spec)
    before = _settings(bank)
    with claimed(session, Conflict("name", f"another bank is called {spec.name!r}")):
        bank.name, bank.kind, bank.description, bank.pdq_threshold = spec.name, spec.kind, spec.description, spec.pdq_threshold
        bank.policy_code, bank.action, bank.active = spec.policy_code, spec.action, active
    record(session, actor=actor, verb="hash_bank.edited", object_type="hash_bank", object_id=bank.id,
           before=before, after=_settings(bank))
    return bank


def bank_named(session: Session, name: str) -> HashBank:
    bank = session.execute(select(HashBank).where(HashBank.name == name)).scalar_one_or_none()
    if bank is None:
        raise NotFound("bank", f"no hash bank {name!r}")
    return bank


def get_bank(session: Session, bank_id: int) -> HashBank:
    bank = session.get(HashBank, bank_id)
    if bank is None:
        raise NotFound("bank_id", f"no hash bank {bank_id}")
    return bank


def list_banks(session: Session, *, active_only: bool = False) -> list[BankSummary]:
    """Every bank by name, with its live hashes counted per algorithm."""
    stmt = select(HashBank).order_by(HashBank.name)
    banks = list(session.execute(stmt.where(HashBank.active.is_(True)) if active_only else stmt).scalars())
    counts: dict[int, dict[str, int]] = {}
    for bank_id, algorithm, count in session.execute(
        select(BankHash.bank_id, BankHash.algorithm, func.count()).where(LIVE).group_by(BankHash.bank_id, BankHash.algorithm)
    ):
        counts.setdefault(bank_id, {})[algorithm] = count
    return [BankSummary(bank, counts.get(bank.id, {})) for bank in banks]


def add_hashes(session: Session, actor: Actor, bank: HashBank, entries: Iterable[BankEntry], *, source: str) -> int:
    """Add the entries not already live in the bank; returns how many were new.

    Core `executemany` on the table, not ORM objects: lists run to millions of rows."""
    table = BankHash.__table__
    insert = (conflict_insert(session, table)
              .on_conflict_do_nothing(index_elements=["bank_id", "algorithm", "value"], index_where=LIVE)
              .returning(table.c.algorithm))
    added: Counter[str] = Counter()
    now = utcnow()
    for chunk in _chunks(entries):
        rows = [{"bank_id": bank.id, "algorithm": e.algorithm.value, "value": e.value, "note": e.note,
                 "added_by": actor.label, "added_at": now} for e in chunk]
        added.update(session.execute(insert, rows).scalars())
    record(session, actor=actor, verb="hash_bank.hashes_added", object_type="hash_bank", object_id=bank.id,
           after={"source": source, "added": dict(added)})
    return added.total()


def _chunks(entries: Iterable[BankEntry]) -> Iterator[list[BankEntry]]:
    iterator = iter(entries)
    while chunk := list(islice(iterator, _CHUNK)):
        yield chunk


def remove_hash(session: Session, actor: Actor, bank: HashBank, value: str, algorithm: str | None = None) -> BankHash:
    """Take a hash out of the bank (kept as a removed row, so workers drop it too)."""
    wanted = entry(value, algorithm)
    row = session.execute(
        select(BankHash).where(BankHash.bank_id == bank.id, BankHash.algorithm == wanted.algorithm.value,
                               BankHash.value == wanted.value, LIVE).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("value", f"{wanted.value} is not in bank {bank.name!r}")
    row.removed_at = utcnow()
    session.flush()
    record(session, actor=actor, verb="hash_bank.hash_removed", object_type="hash_bank", object_id=bank.id,
           before={"id": row.id, "algorithm": row.algorithm, "value": row.value, "note": row.note})
    return row


def add_case_media(session: Session, actor: Actor, who: Reviewer, case_id: int, bank_id: int, blobs: BlobStore) -> int:
    """Add the MD5, SHA-256 and (for pictures) PDQ of a decided case's subject's media to a bank.

    A case `who` may not see is not found, as for one that does not exist."""
    case = visible_case(session, who, case_id)
    if case.decided_at is None:
        raise Conflict("case_id", "only a decided case's media can go into a bank")
    bank = get_bank(session, bank_id)
    entries = list(_media_entries(session, case.subject_id, blobs, note=f"case {case.id}"))
    if not entries:
        raise FieldError("case_id", "the case's subject has no stored media to hash")
    return add_hashes(session, actor, bank, entries, source=f"case:{case.id}")


def _media_entries(session: Session, subject_id: int, blobs: BlobStore, *, note: str) -> Iterator[BankEntry]:
    items = session.execute(
        select(MediaItem).where(MediaItem.subject_id == subject_id, MediaItem.status == MediaStatus.STORED.value)
    ).scalars()
    for item in items:
        for stored in session.execute(select(MediaHash).where(MediaHash.media_item_id == item.id)).scalars():
            yield BankEntry(HashAlgorithm(stored.algorithm), stored.value.lower(), note)
        if item.kind == MediaKind.IMAGE and item.blob_sha256:
            pdq = _pdq(blobs, item.blob_sha256)
            if pdq is not None:
                yield BankEntry(HashAlgorithm.PDQ, pdq, note)


def _pdq(blobs: BlobStore, sha256: str) -> str | None:
    """The picture's upright PDQ (matching tries the 8 turns of the query); None if unreadable or
    too featureless to match on."""
    try:
        with blobs.open(sha256) as stream:
            data = stream.read()
    except FileNotFoundError:
        return None
    try:
        pdq = hash_image(open_image(data))
    except UnreadableImage:
        return None
    return pdq.hex if pdq.quality >= MIN_PDQ_QUALITY else None
