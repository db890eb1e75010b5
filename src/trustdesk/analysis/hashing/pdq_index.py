"""Exact PDQ matching: every stored hash within a Hamming distance of a query, at 10M hashes.

Multi-index hashing (Norouzi, Punjani and Fleet). The 256 bits are cut into 14 substrings, four
of 19 bits and ten of 18, and each substring has a table from its value to the hashes holding
it. If a stored hash is within distance d of the query, write d = 14·r + a (0 ≤ a < 14): then
one of the first a + 1 substrings differs in at most r bits, or one of the others in at most
r − 1, for otherwise the total would exceed d. So probing every value within that radius of
the query's substring, table by table, reaches every match; each candidate is then checked on
all 256 bits. Nothing within the threshold is missed, whatever the threshold: a threshold so
large that the tables would return a good share of the index scans the hashes instead.

Why 14 substrings: at the PDQ default d = 31 the four 19-bit substrings are probed at radius 2
and the ten 18-bit ones at radius 1 (954 probes), which yields about half the candidates of 16
tables of 16 bits at radius 1, and costs 56 bytes of postings per hash instead of 64, so that
hash (32 B), id (8 B), postings and tombstone (1 B) stay under 100 bytes per hash at 10M.

Each table is a CSR pair: `postings` holds hash positions (uint32) bucket after bucket, all
tables one after the other, and `offsets` says where each bucket starts. Additions go to a small
delta that queries scan by brute force, so an added hash is matched by the very next query;
once the delta reaches `delta_limit` it is folded into the tables by inserting into each bucket
(no re-sort of what is already there). Removal sets a tombstone; tombstoned entries are dropped
when they exceed a quarter of the tables, at the next fold.

Queries may run in any number of threads while one thread adds and removes: each change builds
new arrays and swaps them in with one assignment.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from trustdesk.analysis.hashing.pdq import BITS, HashArray, parse_hashes

DEFAULT_THRESHOLD = 31
WIDTHS = (19,) * 4 + (18,) * 10
_STARTS = tuple(itertools.accumulate(WIDTHS, initial=0))[:-1]
_KEY_SHIFTS = tuple((BITS - start - width, (1 << width) - 1) for start, width in zip(_STARTS, WIDTHS))
_BASES = tuple(itertools.accumulate((1 << width for width in WIDTHS), initial=0))
BUCKETS = _BASES[-1]
DELTA_LIMIT = 8_192
# Probe the tables while they promise fewer candidates than this share of the hashes; above it
# (thresholds above 71; measured where the two cost the same) a scan of all hashes is cheaper.
SCAN_SHARE = 0.25
_SCAN_CHUNK = 4_096  # rows: keeps the temporaries small enough to stay off fresh mmap pages
_MAX_HASHES = (1 << 32) // len(WIDTHS) - 1


@dataclass(frozen=True, slots=True)
class Match:
    id: int
    distance: int


@dataclass(frozen=True, slots=True)
class _Entries:
    hashes: HashArray
    ids: np.ndarray


@dataclass(frozen=True, slots=True)
class _Tables:
    hashes: HashArray  # (n, 4) uint64, by position
    ids: np.ndarray  # (n,) int64, by position
    postings: np.ndarray  # (14·n,) uint32 positions, grouped by bucket
    offsets: np.ndarray  # (BUCKETS + 1,) uint32: bucket g is postings[offsets[g]:offsets[g + 1]]
    removed: np.ndarray  # (n,) bool tombstones, set in place by remove()


@dataclass(frozen=True, slots=True)
class _Plan:
    """Which buckets a query probes at one threshold, or None to scan every hash."""

    tables: np.ndarray  # (p,) the table of each probe
    flips: np.ndarray  # (p,) the bits each probe flips in the query's substring


_EMPTY = _Entries(np.empty((0, 4), np.uint64), np.empty(0, np.int64))


class PdqIndex:
    """One hash bank's PDQ hashes: ids (ints, e.g. database row ids) with 256-bit hashes."""

    def __init__(self, *, delta_limit: int = DELTA_LIMIT) -> None:
        self._delta_limit = delta_limit
        self._tables: _Tables | None = None
        self._delta = _EMPTY

    @classmethod
    def build(cls, ids: Iterable[int], hashes: Iterable[str] | HashArray, *, delta_limit: int = DELTA_LIMIT) -> PdqIndex:
        index = cls(delta_limit=delta_limit)
        index.add(ids, hashes)
        return index

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str]], *, chunk: int = 1 << 16, delta_limit: int = DELTA_LIMIT) -> PdqIndex:
        """Build from `(id, hex)` rows, e.g. a database cursor, parsing them a chunk at a time."""
        ids: list[np.ndarray] = []
        hashes: list[HashArray] = []
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, chunk)):
            part = _entries((row[0] for row in batch), [row[1] for row in batch])
            ids.append(part.ids)
            hashes.append(part.hashes)
        if not ids:
            return cls(delta_limit=delta_limit)
        return cls.build(np.concatenate(ids), np.concatenate(hashes), delta_limit=delta_limit)

    def __len__(self) -> int:
        tables = self._tables
        kept = 0 if tables is None else len(tables.ids) - int(np.count_nonzero(tables.removed))
        return kept + len(self._delta.ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (what grows with the number of hashes)."""
        parts = [self._delta.hashes, self._delta.ids]
        if self._tables is not None:
            t = self._tables
            parts += [t.hashes, t.ids, t.postings, t.offsets, t.removed]
        return sum(part.nbytes for part in parts)

    def add(self, ids: Iterable[int], hashes: Iterable[str] | HashArray) -> None:
        """Matched from the next query on; folded into the tables once the delta is full."""
        new = _entries(ids, hashes)
        delta = _Entries(np.concatenate((self._delta.hashes, new.hashes)), np.concatenate((self._delta.ids, new.ids)))
        if len(delta.ids) < self._delta_limit:
            self._delta = delta
            return
        tables = self._tables
        if tables is not None and np.count_nonzero(tables.removed) * 4 > len(tables.ids):
            keep = ~tables.removed
            delta = _Entries(np.concatenate((tables.hashes[keep], delta.hashes)), np.concatenate((tables.ids[keep], delta.ids)))
            tables = None
        self._tables = _fold(tables, delta)
        self._delta = _EMPTY

    def remove(self, ids: Iterable[int]) -> int:
        """Drop every entry with one of these ids; returns how many were dropped."""
        targets = np.fromiter(ids, dtype=np.int64)
        dropped = 0
        tables = self._tables
        if tables is not None:
            hit = np.isin(tables.ids, targets) & ~tables.removed
            tables.removed[hit] = True
            dropped += int(np.count_nonzero(hit))
        delta = self._delta
        gone = np.isin(delta.ids, targets)
        if gone.any():
            self._delta = _Entries(delta.hashes[~gone], delta.ids[~gone])
            dropped += int(np.count_nonzero(gone))
        return dropped

    def query(self, hash: str, threshold: int = DEFAULT_THRESHOLD) -> list[Match]:
        """Every entry within `threshold` bits of `hash` (hex), nearest first."""
        return self.query_any([hash], threshold)

    def query_any(self, hashes: Sequence[str], threshold: int = DEFAULT_THRESHOLD) -> list[Match]:
        """Every entry within `threshold` of any of `hashes` (e.g. a picture's 8 dihedral hashes),
        each once with its best distance, nearest first."""
        if not isinstance(threshold, int) or not 0 <= threshold <= BITS:
            raise ValueError(f"threshold must be an integer from 0 to {BITS}, got {threshold!r}")
        queries = parse_hashes(hashes)
        if not len(queries):
            return []
        tables, delta = self._tables, self._delta
        found_ids, found_distances = [], []
        if tables is not None:
            plan = _plan(threshold)
            if plan is None:
                positions, distances = _scan(tables.hashes, queries, threshold)
            else:
                positions, distances = _probe(tables, plan, queries, threshold)
            keep = ~tables.removed[positions]
            found_ids.append(tables.ids[positions[keep]])
            found_distances.append(distances[keep])
        positions, distances = _scan(delta.hashes, queries, threshold)
        found_ids.append(delta.ids[positions])
        found_distances.append(distances)
        return _best(np.concatenate(found_ids), np.concatenate(found_distances))


def _entries(ids: Iterable[int], hashes: Iterable[str] | HashArray) -> _Entries:
    if isinstance(hashes, np.ndarray):
        if hashes.ndim != 2 or hashes.shape[1] != 4 or hashes.dtype != np.uint64:
            raise ValueError(f"hashes must be an (n, 4) uint64 array, got {hashes.shape} {hashes.dtype}")
        array = np.ascontiguousarray(hashes)
    else:
        array = parse_hashes(hashes)
    id_array = np.asarray(ids if isinstance(ids, np.ndarray) else np.fromiter(ids, dtype=np.int64), dtype=np.int64)
    if id_array.shape != (len(array),):
        raise ValueError(f"{len(id_array)} ids for {len(array)} hashes")
    return _Entries(array, id_array)


def _substring_keys(hashes: HashArray, table: int) -> np.ndarray:
    """Every hash's value of one substring (bits counted from the top of the 256)."""
    word, offset = divmod(_STARTS[table], 64)
    spill = offset + WIDTHS[table] - 64  # bits that fall in the next word
    if spill <= 0:
        keys = hashes[:, word] >> np.uint64(-spill)
    else:
        keys = (hashes[:, word] << np.uint64(spill)) | (hashes[:, word + 1] >> np.uint64(64 - spill))
    return (keys & np.uint64((1 << WIDTHS[table]) - 1)).astype(np.uint32)


def _query_buckets(queries: HashArray) -> np.ndarray:
    """For a few query hashes, the bucket of each substring's value in the global numbering,
    with Python integers (cheaper than numpy for a handful)."""
    rows = []
    for raw in queries.astype(">u8"):
        value = int.from_bytes(raw.tobytes(), "big")
        rows.append([((value >> shift) & mask) + base for (shift, mask), base in zip(_KEY_SHIFTS, _BASES)])
    return np.array(rows, dtype=np.int64)


def _fold(tables: _Tables | None, new: _Entries) -> _Tables:
    """Tables holding `tables`' entries and `new`'s, inserting into each bucket, never re-sorting."""
    old_n, added = (0 if tables is None else len(tables.ids)), len(new.ids)
    n = old_n + added
    if n > _MAX_HASHES:
        raise ValueError(f"one index holds at most {_MAX_HASHES:,} hashes")
    old_offsets = np.zeros(BUCKETS + 1, np.uint32) if tables is None else tables.offsets
    old_postings = np.empty(0, np.uint32) if tables is None else tables.postings
    positions = np.arange(old_n, n, dtype=np.uint32)
    postings = np.empty(len(WIDTHS) * n, np.uint32)
    counts = np.empty(BUCKETS, np.int64)
    for table, width in enumerate(WIDTHS):
        first, last = _BASES[table], _BASES[table + 1]
        keys = _substring_keys(new.hashes, table)
        order = np.argsort(keys)
        counts[first:last] = np.bincount(keys, minlength=1 << width)
        old_start, old_stop = int(old_offsets[first]), int(old_offsets[last])
        # Each earlier table gained `added` entries, so this one now starts that much later.
        start = old_start + table * added
        region = postings[start : start + old_stop - old_start + added]
        # The i-th new entry in key order lands after the old entries of lower buckets and the
        # i new entries before it; the old entries fill the remaining slots in their order.
        slots = (old_offsets[first:last].astype(np.int64) - old_start)[keys[order]] + np.arange(added)
        region[slots] = positions[order]
        old_slot = np.ones(len(region), bool)
        old_slot[slots] = False
        region[old_slot] = old_postings[old_start:old_stop]
    offsets = np.empty(BUCKETS + 1, np.uint32)
    offsets[0] = 0
    offsets[1:] = old_offsets[1:] + np.cumsum(counts)
    if tables is None:
        return _Tables(new.hashes, new.ids, postings, offsets, np.zeros(n, bool))
    return _Tables(
        np.concatenate((tables.hashes, new.hashes)),
        np.concatenate((tables.ids, new.ids)),
        postings,
        offsets,
        np.concatenate((tables.removed, np.zeros(added, bool))),
    )


@cache
def _plan(threshold: int) -> _Plan | None:
    radius, extra = divmod(threshold, len(WIDTHS))
    radii = [radius if table <= extra else radius - 1 for table in range(len(WIDTHS))]
    share = sum(_ball_size(width, r) / (1 << width) for width, r in zip(WIDTHS, radii))
    if share > SCAN_SHARE:
        return None
    flips = [_flips(width, r) for width, r in zip(WIDTHS, radii)]
    tables = np.concatenate([np.full(len(table_flips), table, np.int64) for table, table_flips in enumerate(flips)])
    return _Plan(tables, np.concatenate(flips))


def _ball_size(width: int, radius: int) -> int:
    return sum(math.comb(width, k) for k in range(radius + 1))


def _flips(width: int, radius: int) -> np.ndarray:
    """Every `width`-bit mask with at most `radius` bits set."""
    masks = [sum(1 << bit for bit in bits) for k in range(radius + 1) for bits in itertools.combinations(range(width), k)]
    return np.array(masks, dtype=np.int64)


def _probe(tables: _Tables, plan: _Plan, queries: HashArray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions within `threshold` of any query (a position may repeat), with their distances."""
    # A table's buckets start at a multiple of its size, so flipping low bits stays in the table.
    buckets = (_query_buckets(queries)[:, plan.tables] ^ plan.flips).ravel()
    starts = np.take(tables.offsets, buckets).astype(np.int64)
    lengths = np.take(tables.offsets, buckets + 1) - starts
    ends = np.cumsum(lengths)
    # The concatenation of postings[start:start + length] for every probe, without a Python loop.
    spans = np.arange(ends[-1]) + np.repeat(starts - ends + lengths, lengths)
    positions = np.take(tables.postings, spans)
    if len(queries) == 1:
        against = np.tile(queries.ravel(), len(positions))
    else:
        against = np.take(queries, np.repeat(np.arange(len(buckets)) // len(plan.tables), lengths), axis=0).ravel()
    return _near(np.take(tables.hashes, positions, axis=0).ravel() ^ against, positions, threshold)


def _near(differences: np.ndarray, positions: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions whose 4 words of XOR with the query (flattened) hold at most `threshold` ones."""
    counts = np.bitwise_count(differences)  # one byte per word, each at most 64
    # Sum the 4 bytes of each hash with one multiplication; the sum is taken modulo 256, so a
    # distance of exactly 256 reads 0: the few hashes that pass are counted again exactly.
    quick = (counts.view(np.uint32) * np.uint32(0x01010101)) >> np.uint32(24)
    near = np.flatnonzero(quick <= threshold)
    distances = np.add.reduce(counts.reshape(-1, 4)[near], axis=1, dtype=np.uint16)
    exact = distances <= threshold
    return positions[near[exact]], distances[exact]


def _scan(hashes: HashArray, queries: HashArray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """The same as `_probe` by comparing with every hash, a chunk at a time."""
    found_positions, found_distances = [np.empty(0, np.int64)], [np.empty(0, np.uint16)]
    for start in range(0, len(hashes), _SCAN_CHUNK):
        chunk = hashes[start : start + _SCAN_CHUNK]
        positions = np.arange(start, start + len(chunk))
        for query in queries:
            near, distances = _near(chunk.ravel() ^ np.tile(query, len(chunk)), positions, threshold)
            found_positions.append(near)
            found_distances.append(distances)
    return np.concatenate(found_positions), np.concatenate(found_distances)


def _best(ids: np.ndarray, distances: np.ndarray) -> list[Match]:
    """Each id once, with its smallest distance; nearest first, then by id."""
    if not len(ids):
        return []
    order = np.lexsort((distances, ids))
    ids, distances = ids[order], distances[order]
    first = np.ones(len(ids), bool)
    first[1:] = ids[1:] != ids[:-1]
    ids, distances = ids[first], distances[first]
    order = np.lexsort((ids, distances))
    return [Match(int(i), int(d)) for i, d in zip(ids[order].tolist(), distances[order].tolist())]
