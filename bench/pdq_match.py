"""PDQ matching at 1M and 10M hashes: single-query rate, recall against brute force, memory.

    python bench/pdq_match.py                              # 1M and 10M, PDQIndex2 at 1M
    python bench/pdq_match.py --sizes 1000000 --runs 7     # one size
    python bench/pdq_match.py --sizes 10000000 --peer-size 0

The bank is random 256-bit hashes (numpy, fixed seed, made a million at a time) in which 1 % are
planted near-duplicates of other entries, 0–40 bits flipped. Each query is a stored entry with
0–40 bits flipped, half of them planted duplicates (so that their sources lie near as well), so
most queries have one or more matches at any distance up to 31. A query is one hex hash in one call
(`PdqIndex.query`), no batching, at the PDQ default threshold of 31; the rate is the median of
several runs over the same queries (the machine may be shared: medians, not best runs).

Recall and false matches are checked on a sample of the queries against a brute-force scan of
every hash, written here apart from the index, overall and by distance (matches near the
threshold are the ones a multi-index could miss). Bytes per hash are the index's array bytes
(`nbytes`), and the growth of the process's resident memory after the build, over the hashes.

The peer is python-threatexchange's `PDQIndex2` (faiss) on the same data and queries, when the
`threatexchange` package is installed (it is not a TrustDesk dependency: install it in a venv of
its own with TrustDesk, see the README); the target is 50 times its single-query rate at 100 %
recall, and at most 100 bytes per hash at 10M. The header gives the cores and the load average,
since both sides are timed on whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np

from trustdesk.analysis.hashing.pdq import format_hashes
from trustdesk.analysis.hashing.pdq_index import DEFAULT_THRESHOLD, DELTA_LIMIT, PdqIndex

CHUNK = 1_000_000
PLANTED_SHARE = 0.01
MAX_FLIPS = 40
SPEED_TARGET = 50
BYTES_TARGET = 100
SINGLE_ADDS = 20
RECALL_BANDS = ((0, 10), (11, 20), (21, 25), (26, DEFAULT_THRESHOLD))


def _flip(rng: np.random.Generator, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each row of `hashes` with `counts[i]` distinct random bits flipped."""
    ranks = np.argsort(np.argsort(rng.random((len(hashes), 256)), axis=1), axis=1)
    masks = np.packbits(ranks < counts[:, None], axis=1).view(">u8").astype(np.uint64)
    return hashes ^ masks


def _bank(n: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The bank's (ids, hashes) a chunk at a time; the same seed gives the same chunks."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        hashes = rng.integers(0, 2**64, size=(size, 4), dtype=np.uint64)
        planted = int(size * PLANTED_SHARE)
        sources = rng.integers(0, size - planted, planted)
        hashes[size - planted :] = _flip(rng, hashes[sources], rng.integers(0, MAX_FLIPS + 1, planted))
        yield np.arange(start, start + size, dtype=np.int64) * 3 + 1, hashes


def _queries(n: int, seed: int, count: int) -> list[str]:
    """Stored entries with 0–40 bits flipped: half of them planted near-duplicates (so that their
    sources are near too), half any entry."""
    rng = np.random.default_rng(seed + 1)
    chunks = -(-n // CHUNK)
    picked = []
    for chunk, (_ids, hashes) in enumerate(_bank(n, seed)):
        take = count // chunks + (chunk < count % chunks)
        planted = int(len(hashes) * PLANTED_SHARE)
        duplicates = rng.integers(len(hashes) - planted, len(hashes), take // 2)
        rows = np.concatenate((duplicates, rng.integers(0, len(hashes), take - take // 2)))
        picked.append(_flip(rng, hashes[rows], rng.integers(0, MAX_FLIPS + 1, take)))
    return format_hashes(rng.permutation(np.concatenate(picked)))


def _brute_force(n: int, seed: int, queries: list[str], threshold: int) -> list[set[tuple[int, int]]]:
    """Every (id, distance) within `threshold` of each query, by comparing with every hash."""
    words = np.frombuffer(bytes.fromhex("".join(queries)), dtype=">u8").astype(np.uint64).reshape(-1, 4)
    found: list[set[tuple[int, int]]] = [set() for _ in queries]
    for ids, hashes in _bank(n, seed):
        for i, query in enumerate(words):
            distances = np.bitwise_count(hashes ^ query).sum(axis=1)
            near = np.flatnonzero(distances <= threshold)
            found[i].update(zip(ids[near].tolist(), distances[near].tolist()))
    return found


def _rss() -> int:
    """Resident bytes, after handing freed heap memory back (build temporaries would count)."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _rate(query: Callable[[str], object], queries: list[str], runs: int) -> tuple[str, float, float]:
    """Queries/s over `runs` passes, one query per call: the median by the clock (with the lowest
    and highest run) and the median per CPU-second of this process, which waiting for a busy
    core does not lower."""
    wall, cpu = [], []
    for _ in range(runs):
        clock, used = time.perf_counter(), time.process_time()
        for hash_hex in queries:
            query(hash_hex)
        wall.append(len(queries) / (time.perf_counter() - clock))
        cpu.append(len(queries) / (time.process_time() - used))
    return (
        f"median {statistics.median(wall):,.1f} (runs {min(wall):,.1f}–{max(wall):,.1f}), "
        f"per CPU-second {statistics.median(cpu):,.1f}; {len(queries)} queries × {runs}"
    ), statistics.median(wall), statistics.median(cpu)


def _recall(results: list[set[tuple[int, int]]], truth: list[set[tuple[int, int]]]) -> str:
    """The share of brute force's matches found, overall and by distance (the hard ones lie near
    the threshold), and how many matches brute force does not have."""
    expected = [m for t in truth for m in t]
    found = [m for r, t in zip(results, truth) for m in r & t]
    false = sum(len(r - t) for r, t in zip(results, truth))
    bands = []
    for low, high in RECALL_BANDS:
        hits = sum(low <= d <= high for _, d in found)
        bands.append(f"{low}–{high}: {hits}/{sum(low <= d <= high for _, d in expected)}")
    recall = len(found) / len(expected) if expected else 1.0
    return (
        f"recall {recall:.2%} of {len(expected)} brute-force matches over {len(truth)} queries "
        f"(by distance {', '.join(bands)}), {false} false matches"
    )


def bench_index(n: int, seed: int, queries: list[str], truth: list[set[tuple[int, int]]], runs: int) -> tuple[float, float]:
    gc.collect()
    before = _rss()
    ids, hashes = (np.concatenate(parts) for parts in zip(*_bank(n, seed)))
    clock, used = time.perf_counter(), time.process_time()
    index = PdqIndex.build(ids, hashes)
    print(f"  build {time.perf_counter() - clock:.1f} s ({time.process_time() - used:.1f} s of CPU)")
    del ids, hashes
    gc.collect()
    grown = _rss() - before
    print(f"  bytes/hash: arrays {index.nbytes / n:.1f}, resident growth {grown / n:.1f} (target ≤ {BYTES_TARGET} at 10M)")
    sample = queries[: len(truth)]
    print(f"  {_recall([{(m.id, m.distance) for m in index.query(q)} for q in sample], truth)}")
    text, wall, cpu = _rate(index.query, queries, runs)
    print(f"  single queries/s: {text}")
    _bench_additions(index)
    return wall, cpu


def _bench_additions(index: PdqIndex) -> None:
    """An added hash is matched by the next query; a full delta is folded in without a rebuild."""
    rng = np.random.default_rng(7)
    fresh = rng.integers(0, 2**64, size=(DELTA_LIMIT, 4), dtype=np.uint64)
    fresh_hex = format_hashes(fresh[:SINGLE_ADDS])
    took, found = [], 0
    for i, hash_hex in enumerate(fresh_hex):
        started = time.perf_counter()
        index.add([-1 - i], fresh[i : i + 1])
        found += any(m.id == -1 - i for m in index.query(hash_hex))
        took.append(time.perf_counter() - started)
    print(
        f"  add 1 hash and query it: median {statistics.median(took) * 1e3:.2f} ms, slowest {max(took) * 1e3:.2f} ms "
        f"({SINGLE_ADDS} times), found {found} of {SINGLE_ADDS}"
    )
    clock, used = time.perf_counter(), time.process_time()
    index.add(-np.arange(SINGLE_ADDS + 1, DELTA_LIMIT + 1), fresh[SINGLE_ADDS:])
    folded, cpu = time.perf_counter() - clock, time.process_time() - used
    found = any(m.id == -1 for m in index.query(fresh_hex[0]))
    print(
        f"  add {DELTA_LIMIT - SINGLE_ADDS:,} more, filling the delta, which is folded into the tables: "
        f"{folded:.2f} s ({cpu:.2f} s of CPU), first still found: {found}"
    )


def bench_peer(n: int, seed: int, queries: list[str], truth: list[set[tuple[int, int]]], runs: int) -> tuple[float, float] | None:
    try:
        from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2
    except ImportError:
        print("  python-threatexchange is not installed (see the README's Benchmarks): peer skipped")
        return None
    clock, used = time.perf_counter(), time.process_time()
    peer = PDQIndex2(entries=((h, i) for ids, hashes in _bank(n, seed) for i, h in zip(ids.tolist(), format_hashes(hashes))))
    print(f"  build {time.perf_counter() - clock:.1f} s ({time.process_time() - used:.1f} s of CPU)")

    def query(hash_hex: str) -> set[tuple[int, int]]:
        return {(m.metadata, int(m.similarity_info.distance)) for m in peer.query(hash_hex)}

    sample = queries[: len(truth)]
    print(f"  {_recall([query(q) for q in sample], truth)}")
    text, wall, cpu = _rate(peer.query, queries[: max(len(queries) // 20, 50)], runs)
    print(f"  single queries/s: {text}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--recall-sample", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer-size", type=int, default=1_000_000, help="run PDQIndex2 at this size (0: never)")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(
        f"PDQ matching, threshold {DEFAULT_THRESHOLD}, numpy {np.__version__}; medians of {args.runs} runs; "
        f"{os.cpu_count()} cores, load average {load}"
    )
    for n in args.sizes:
        queries = _queries(n, args.seed, args.queries)
        truth = _brute_force(n, args.seed, queries[: args.recall_sample], DEFAULT_THRESHOLD)
        print(f"{n:,} hashes — PdqIndex (multi-index, 14 substrings)")
        ours = bench_index(n, args.seed, queries, truth, args.runs)
        if n == args.peer_size:
            print(f"{n:,} hashes — python-threatexchange PDQIndex2")
            theirs = bench_peer(n, args.seed, queries, truth, args.runs)
            if theirs:
                print(
                    f"  ratio: {ours[0] / theirs[0]:.0f}× PDQIndex2's single-query rate by the clock, "
                    f"{ours[1] / theirs[1]:.0f}× per CPU-second (target ≥ {SPEED_TARGET}×)"
                )
        gc.collect()
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GiB")


if __name__ == "__main__":
    main()
