"""Hashed character and word n-grams of normalised text, computed for a whole batch at once.

The fast tier must score tens of thousands of messages a second in one process, so features are
never built message by message in Python. A batch is joined into one array of code points and
every n-gram is hashed with vectorised arithmetic: with the prefix sums
``G[i] = sum(c[j] * Q**j for j < i)`` (mod 2**64, Q odd), the n-gram starting at ``a`` hashes to
``(G[a+n] - G[a]) * Q**-a``, the same value wherever it occurs. A mixing step and the top bits of
the product pick the bucket.

Features: character 2- to 5-grams over the text padded with a space (so word starts and ends
show), word unigrams and word bigrams (words are runs of ASCII letters and digits, or of any
non-ASCII character). A message's vector holds ``idf[bucket]`` once per occurrence, divided by its
Euclidean length, so long and short messages score on one scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CHAR_SIZES = (2, 3, 4, 5)
_Q = np.uint64(0x9E3779B97F4A7C15)  # odd, so it has an inverse mod 2**64
_Q_INVERSE = np.uint64(pow(0x9E3779B97F4A7C15, -1, 2**64))
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_WORD_TAG = np.uint64(0x94D049BB133111EB)
_BIGRAM_TAG = np.uint64(0xD6E8FEB86659FD93)
_SEPARATOR = 0
_SPACE = 32


def _ascii_boundaries() -> np.ndarray:
    """Code points below 128 that end a word: everything but a–z and 0–9."""
    boundary = np.ones(128, dtype=bool)
    boundary[ord("a") : ord("z") + 1] = False
    boundary[ord("0") : ord("9") + 1] = False
    return boundary


_ASCII_BOUNDARY = _ascii_boundaries()


@dataclass(frozen=True)
class Occurrences:
    """Every n-gram of a batch: the message it belongs to and its bucket, one entry per occurrence."""

    rows: np.ndarray  # int64, message index
    buckets: np.ndarray  # int64, in [0, 2**bits)
    count: int  # messages in the batch


def _cumulative_powers(base: np.uint64, length: int) -> np.ndarray:
    powers = np.full(length, base, dtype=np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


# Powers of Q and of its inverse, kept between batches up to this many positions (8 MB each).
_KEPT_POWERS = 1 << 20
_powers_kept: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, length: int) -> np.ndarray:
    """``base**i`` for ``i < length``; the table is computed once and reused by later batches."""
    kept = _powers_kept.get(int(base))
    if kept is not None and len(kept) >= length:
        return kept[:length]
    if length > _KEPT_POWERS:
        return _cumulative_powers(base, length)
    kept = _cumulative_powers(base, max(length, min(2 * length, _KEPT_POWERS)))
    kept.flags.writeable = False  # shared by every later batch
    _powers_kept[int(base)] = kept
    return kept[:length]


def _bucket(hashes: np.ndarray, tag: np.uint64, bits: int) -> np.ndarray:
    mixed = hashes ^ tag
    mixed *= _MIX
    mixed ^= mixed >> np.uint64(29)
    mixed *= _MIX
    mixed >>= np.uint64(64 - bits)
    return mixed.view(np.int64)  # below 2**bits, so the same number


def occurrences(normalised: Sequence[str], bits: int) -> Occurrences:
    """The hashed n-grams of already normalised texts."""
    joined = "\0".join(f" {text} " for text in normalised) + "\0"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    length = len(codes)
    prefix = np.zeros(length + 1, dtype=np.uint64)
    np.cumsum(codes * _powers(_Q, length), out=prefix[1:])
    unshift = _powers(_Q_INVERSE, length)
    separators_before = np.zeros(length + 1, dtype=np.int64)
    np.cumsum(codes == _SEPARATOR, out=separators_before[1:])
    row_of = separators_before[:-1]  # message index of every position

    def span_hash(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (prefix[end] - prefix[start]) * unshift[start]

    rows: list[np.ndarray] = []
    buckets: list[np.ndarray] = []
    for size in CHAR_SIZES:
        starts = max(length + 1 - size, 0)  # the positions an n-gram of this size can start at, in order
        inside = separators_before[size:] == separators_before[:starts]  # not across two messages
        hashes = (prefix[size:] - prefix[:starts]) * unshift[:starts]
        rows.append(row_of[:starts][inside])
        buckets.append(_bucket(hashes[inside], np.uint64(size), bits))

    small = codes < 128
    boundary = np.where(small, _ASCII_BOUNDARY[np.minimum(codes, 127).astype(np.int64)], False)
    edges = np.flatnonzero(boundary)
    word_start, word_end = edges[:-1] + 1, edges[1:]
    keep = word_end > word_start
    word_start, word_end = word_start[keep], word_end[keep]
    rows.append(row_of[word_start])
    buckets.append(_bucket(span_hash(word_start, word_end), _WORD_TAG, bits))

    same_message = row_of[word_start[1:]] == row_of[word_start[:-1]]
    first, second = word_start[:-1][same_message], word_end[1:][same_message]
    rows.append(row_of[first])
    buckets.append(_bucket(span_hash(first, second), _BIGRAM_TAG, bits))
    return Occurrences(np.concatenate(rows), np.concatenate(buckets), len(normalised))


def row_norms(found: Occurrences, occurrence_idf: np.ndarray) -> np.ndarray:
    """Each message's vector length, from the idf of each occurrence; 1 for a message with no n-gram at all."""
    squares = np.bincount(found.rows, weights=np.square(occurrence_idf, dtype=np.float64), minlength=found.count)
    return np.sqrt(np.where(squares > 0, squares, 1.0))
