"""Matching media against every active bank, in one process, kept current from the database.

Each process (API, worker) holds one `BankMatcher`: the live PDQ hashes of all banks in one
`PdqIndex`, MD5 and SHA-256 in dictionaries. It never rebuilds: `refresh()` reads only what
changed since the last one, and `match()` refreshes first when the last refresh is older than
`max_age` (a second by default), so a hash added or removed in any process is seen everywhere
within that time.

What changed is found without a change log:
- Additions are rows with an id above the highest seen. On PostgreSQL ids come from a sequence
  and transactions commit out of order, so a lower id may appear after a higher one was read:
  the ids skipped so far are kept as gaps and read again on every refresh until they show up,
  or until `GAP_WAIT` has passed (an id that never appears belonged to a rolled-back insert).
- Removals are rows whose `removed_at` is at or after the start of the previous refresh, less
  `LOOKBACK`, which covers a removal that committed a while after it was stamped and clocks of
  different hosts that disagree by less than that. Removing what is already gone does nothing.

A PDQ query tries a picture's 8 rotations and flips at the largest threshold of the active
banks, then keeps each hit within its own bank's threshold, so no bank's match is missed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trustdesk.analysis.hashing.pdq import UnreadableImage, hash_image_dihedral, open_image
from trustdesk.analysis.hashing.pdq_index import PdqIndex
from trustdesk.domain.hash_banks import MIN_PDQ_QUALITY
from trustdesk.domain.vocabulary import HashAlgorithm
from trustdesk.store.database import Database
from trustdesk.store.models import BankHash, HashBank, utcnow

_Row = tuple[int, int, str, str, bool]  # id, bank id, algorithm, value, live
GAP_WAIT = 60.0  # seconds an unseen id is looked for again
LOOKBACK = timedelta(seconds=60)
_EXACT = (HashAlgorithm.MD5, HashAlgorithm.SHA256)


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """What one media file is queried by: its exact hashes and, for a picture, its 8 PDQ hashes."""

    md5: str | None = None
    sha256: str | None = None
    pdq: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BankMatch:
    bank_id: int
    bank: str
    kind: str
    bank_hash_id: int
    algorithm: str
    distance: int  # Hamming distance for PDQ; 0 for an exact hash
    policy_code: str | None  # with `action`, what the bank calls for; None: review only
    action: str | None


@dataclass(frozen=True, slots=True)
class _Bank:
    id: int
    name: str
    kind: str
    threshold: int
    policy_code: str | None
    action: str | None


@dataclass(slots=True)
class _Gap:
    low: int
    high: int
    since: float


def media_hashes(data: bytes) -> MediaHashes:
    """The hashes to query a file by; PDQ only when the bytes are a picture with features enough."""
    try:
        dihedral = hash_image_dihedral(open_image(data))
        pdq = dihedral.hexes if dihedral.quality >= MIN_PDQ_QUALITY else ()
    except UnreadableImage:
        pdq = ()
    return MediaHashes(hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest(), pdq)


class BankMatcher:
    """Every live hash of the active banks, for this process; safe to query from many threads."""

    def __init__(self, db: Database, *, max_age: float = 1.0) -> None:
        self._db = db
        self._max_age = max_age
        self._apply_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refreshed_at = -float("inf")
        self._banks: dict[int, _Bank] = {}
        self._pdq = PdqIndex()
        self._pdq_bank: dict[int, int] = {}  # bank hash id → bank id
        self._exact: dict[tuple[str, str], dict[int, int]] = {}  # (algorithm, value) → {bank hash id: bank id}
        self._exact_key: dict[int, tuple[str, str]] = {}
        self._last_id = 0
        self._gaps: list[_Gap] = []
        self._removals_since = utcnow() - LOOKBACK

    def __len__(self) -> int:
        return len(self._pdq_bank) + len(self._exact_key)

    def refresh(self) -> int:
        """Take in what was added and removed since the last refresh; returns how many changes."""
        with self._refresh_lock:
            started, stamp = time.monotonic(), utcnow()
            with self._db.reader() as session:
                banks = _active_banks(session)
                added = self._additions(session)
                removed = session.execute(
                    select(BankHash.id).where(BankHash.removed_at >= self._removals_since)
                ).scalars().all()
            with self._apply_lock:
                self._banks = banks
                changes = self._add(added) + self._remove(removed)
            self._track_gaps([row[0] for row in added], started)
            self._removals_since = stamp - LOOKBACK
            self._refreshed_at = started
            return changes

    def match(self, hashes: MediaHashes) -> list[BankMatch]:
        """Every active bank's hash matching the file, exact ones first, then nearest PDQ first."""
        if time.monotonic() - self._refreshed_at >= self._max_age and not self._refresh_lock.locked():
            self.refresh()
        banks = self._banks
        found: list[BankMatch] = []
        with self._apply_lock:
            for algorithm, value in zip(_EXACT, (hashes.md5, hashes.sha256)):
                if value:
                    for hash_id, bank_id in self._exact.get((algorithm.value, value.lower()), {}).items():
                        if bank := banks.get(bank_id):
                            found.append(_match(bank, hash_id, algorithm, 0))
        if hashes.pdq and banks:
            hits = self._pdq.query_any(hashes.pdq, max(bank.threshold for bank in banks.values()))
            with self._apply_lock:
                owners = [self._pdq_bank.get(hit.id) for hit in hits]
            for hit, bank_id in zip(hits, owners):
                bank = banks.get(bank_id) if bank_id is not None else None
                if bank is not None and hit.distance <= bank.threshold:
                    found.append(_match(bank, hit.id, HashAlgorithm.PDQ, hit.distance))
        return found

    def _additions(self, session: Session) -> list[_Row]:
        """Rows above the highest id seen, and rows in the gaps still awaited (removed ones too,
        so that their ids stop being awaited). Read through Core: a first load reads them all."""
        wanted = [BankHash.id > self._last_id, *(BankHash.id.between(gap.low, gap.high) for gap in self._gaps)]
        return [tuple(row) for row in session.connection().execute(
            select(BankHash.id, BankHash.bank_id, BankHash.algorithm, BankHash.value, BankHash.removed_at.is_(None))
            .where(or_(*wanted)).order_by(BankHash.id)
        )]

    def _add(self, rows: list[_Row]) -> int:
        pdq_ids, pdq_values, exact = [], [], 0
        for hash_id, bank_id, algorithm, value, live in rows:
            if not live or hash_id in self._pdq_bank or hash_id in self._exact_key:
                continue
            if algorithm == HashAlgorithm.PDQ:
                pdq_ids.append(hash_id)
                pdq_values.append(value)
                self._pdq_bank[hash_id] = bank_id
            else:
                key = (algorithm, value)
                self._exact.setdefault(key, {})[hash_id] = bank_id
                self._exact_key[hash_id] = key
                exact += 1
        if pdq_ids:
            self._pdq.add(pdq_ids, pdq_values)
        return len(pdq_ids) + exact

    def _remove(self, ids: list[int]) -> int:
        gone_pdq = [i for i in ids if self._pdq_bank.pop(i, None) is not None]
        if gone_pdq:
            self._pdq.remove(gone_pdq)
        gone = len(gone_pdq)
        for hash_id in ids:
            key = self._exact_key.pop(hash_id, None)
            if key is not None:
                gone += 1
                holders = self._exact[key]
                del holders[hash_id]
                if not holders:
                    del self._exact[key]
        return gone

    def _track_gaps(self, seen: list[int], now: float) -> None:
        gaps = [_Gap(low, high, gap.since) for gap in self._gaps if now - gap.since < GAP_WAIT
                for low, high in _holes(gap.low, gap.high, [i for i in seen if gap.low <= i <= gap.high])]
        newest = max(seen, default=self._last_id)
        if newest > self._last_id:
            fresh = [i for i in seen if i > self._last_id]
            gaps += [_Gap(low, high, now) for low, high in _holes(self._last_id + 1, newest, fresh)]
            self._last_id = newest
        self._gaps = gaps


def _holes(low: int, high: int, ids: list[int]) -> list[tuple[int, int]]:
    """The ranges of [low, high] not covered by `ids` (sorted)."""
    holes, start = [], low
    for i in ids:
        if i > start:
            holes.append((start, i - 1))
        start = i + 1
    if start <= high:
        holes.append((start, high))
    return holes


def _active_banks(session: Session) -> dict[int, _Bank]:
    banks = session.execute(select(HashBank).where(HashBank.active.is_(True))).scalars()
    return {b.id: _Bank(b.id, b.name, b.kind, b.pdq_threshold, b.policy_code, b.action) for b in banks}


def _match(bank: _Bank, hash_id: int, algorithm: HashAlgorithm, distance: int) -> BankMatch:
    return BankMatch(bank.id, bank.name, bank.kind, hash_id, algorithm.value, distance, bank.policy_code, bank.action)
