"""The PDQ index finds exactly what a brute-force comparison finds, through additions and removals."""

from __future__ import annotations

import numpy as np
import pytest

from trustdesk.analysis.hashing.pdq import format_hashes, parse_hashes
from trustdesk.analysis.hashing.pdq_index import DEFAULT_THRESHOLD, Match, PdqIndex

N = 20_000


def _random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)


def _flip_bits(rng: np.random.Generator, hashes: np.ndarray, bits: int) -> np.ndarray:
    """Copies of `hashes`, each with `bits` distinct random bits flipped."""
    flipped = hashes.copy()
    for row in flipped:
        for bit in rng.choice(256, size=bits, replace=False):
            row[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    return flipped


def _brute_force(ids: np.ndarray, hashes: np.ndarray, query: str, threshold: int) -> list[Match]:
    distances = np.bitwise_count(hashes ^ parse_hashes([query])[0]).sum(axis=1)
    near = np.flatnonzero(distances <= threshold)
    return sorted((Match(int(ids[i]), int(distances[i])) for i in near), key=lambda m: (m.distance, m.id))


def _planted_queries(rng: np.random.Generator, hashes: np.ndarray, per_distance: int = 6) -> list[tuple[str, int | None]]:
    """Near-duplicates of stored hashes at 0 to 40 flipped bits (with that number), and unrelated
    hashes (None)."""
    queries = [(query, None) for query in format_hashes(_random_hashes(rng, per_distance))]
    for bits in range(41):
        planted = _flip_bits(rng, hashes[rng.integers(0, len(hashes), per_distance)], bits)
        queries += [(query, bits) for query in format_hashes(planted)]
    return queries


@pytest.fixture(scope="module")
def bank() -> tuple[np.ndarray, np.ndarray]:
    """Random hashes with clusters of near-duplicates among them, and sparse non-sequential ids."""
    rng = np.random.default_rng(8)
    hashes = _random_hashes(rng, N - 2_000)
    clusters = [_flip_bits(rng, hashes[rng.integers(0, len(hashes), 100)], bits) for bits in range(0, 40, 2)]
    hashes = np.concatenate([hashes, *clusters])
    ids = rng.permutation(N).astype(np.int64) * 7 + 1_000_000_000_000
    return ids, hashes


@pytest.mark.parametrize("threshold", [0, 8, DEFAULT_THRESHOLD, 40, 64, 90])
def test_every_match_within_the_threshold_and_no_other(bank: tuple[np.ndarray, np.ndarray], threshold: int) -> None:
    ids, hashes = bank
    index = PdqIndex.build(ids[:-300], hashes[:-300])
    index.add(ids[-300:], hashes[-300:])  # some entries in the delta, the rest in the tables
    rng = np.random.default_rng(threshold)
    for query, bits in _planted_queries(rng, hashes):
        expected = _brute_force(ids, hashes, query, threshold)
        assert index.query(query, threshold) == expected
        if bits is not None and bits <= threshold:
            assert expected  # the planted duplicate is there to be found


def test_an_added_hash_matches_at_the_next_query_and_after_folding(bank: tuple[np.ndarray, np.ndarray]) -> None:
    ids, hashes = bank
    index = PdqIndex.build(ids[:10_000], hashes[:10_000], delta_limit=1_000)
    new_hex = format_hashes(hashes[10_000:10_001])[0]
    assert all(m.id != ids[10_000] for m in index.query(new_hex, 0))

    index.add([int(ids[10_000])], [new_hex])
    assert Match(int(ids[10_000]), 0) in index.query(new_hex, 0)
    assert len(index) == 10_001

    index.add(ids[10_001:], hashes[10_001:])  # past the delta limit: folded into the tables
    assert len(index._delta.ids) == 0
    assert len(index) == N
    rng = np.random.default_rng(1)
    for query, _bits in _planted_queries(rng, hashes, per_distance=2):
        assert index.query(query) == _brute_force(ids, hashes, query, DEFAULT_THRESHOLD)


def test_removed_entries_no_longer_match(bank: tuple[np.ndarray, np.ndarray]) -> None:
    ids, hashes = bank
    index = PdqIndex.build(ids[:-100], hashes[:-100], delta_limit=5_000)
    index.add(ids[-100:], hashes[-100:])
    gone = np.concatenate([ids[:50], ids[-50:]])  # half from the tables, half from the delta
    assert index.remove(gone.tolist() + [123]) == 100
    assert index.remove(gone.tolist()) == 0
    assert len(index) == N - 100
    kept = ~np.isin(ids, gone)
    for query in format_hashes(hashes[np.r_[0:60, N - 60 : N]]):
        assert index.query(query) == _brute_force(ids[kept], hashes[kept], query, DEFAULT_THRESHOLD)

    index.add(ids[:1], hashes[:1])  # removal is not forever: the id can come back
    assert Match(int(ids[0]), 0) in index.query(format_hashes(hashes[:1])[0], 0)


def test_folding_drops_tombstones_once_they_are_a_quarter(bank: tuple[np.ndarray, np.ndarray]) -> None:
    ids, hashes = bank
    index = PdqIndex.build(ids[:8_000], hashes[:8_000], delta_limit=2_000)
    index.remove(ids[:3_000].tolist())
    index.add(ids[8_000:10_000], hashes[8_000:10_000])  # reaches the delta limit: folds
    assert index._tables is not None and len(index._tables.ids) == 7_000
    assert len(index) == 7_000
    live_ids, live_hashes = ids[3_000:10_000], hashes[3_000:10_000]
    for query in format_hashes(hashes[np.r_[2_990:3_010, 9_990:10_010]]):
        assert index.query(query) == _brute_force(live_ids, live_hashes, query, DEFAULT_THRESHOLD)


def test_several_hashes_in_one_query_report_each_id_once_with_its_best_distance() -> None:
    rng = np.random.default_rng(3)
    stored = _random_hashes(rng, 3)
    index = PdqIndex.build([10, 20, 30], stored)
    near_10 = format_hashes(_flip_bits(rng, stored[:1], 5))[0]
    nearer_10 = format_hashes(_flip_bits(rng, stored[:1], 2))[0]
    exact_30 = format_hashes(stored[2:])[0]
    assert index.query_any([near_10, exact_30, nearer_10]) == [Match(30, 0), Match(10, 2)]
    assert index.query_any([]) == []


def test_from_rows_builds_the_same_index_as_build(bank: tuple[np.ndarray, np.ndarray]) -> None:
    ids, hashes = bank
    rows = zip(ids[:5_000].tolist(), format_hashes(hashes[:5_000]))
    index = PdqIndex.from_rows(rows, chunk=1_000, delta_limit=1_000)
    assert len(index) == 5_000
    for query in format_hashes(hashes[:20]):
        assert index.query(query) == _brute_force(ids[:5_000], hashes[:5_000], query, DEFAULT_THRESHOLD)
    assert len(PdqIndex.from_rows([])) == 0


def test_bad_input_is_refused_with_the_reason() -> None:
    index = PdqIndex.build([1], ["ab" * 32])
    with pytest.raises(ValueError, match="hash 1"):
        index.add([2, 3], ["cd" * 32, "xyz"])
    with pytest.raises(ValueError, match="2 ids for 1 hashes"):
        index.add([2, 3], ["cd" * 32])
    with pytest.raises(ValueError, match="threshold"):
        index.query("ab" * 32, 257)
    with pytest.raises(ValueError, match="threshold"):
        index.query("ab" * 32, -1)
    assert len(index) == 1
