"""The fast tier's optimised path scores exactly as the straightforward computation does.

The reference below normalises one text at a time with every step applied unconditionally (no
cheap pre-checks, the look-behind written first, marks dropped character by character) and scores
one message at a time in plain Python: each n-gram hashed from its characters, its weight looked up,
the sum divided by the vector length and put through the Platt sigmoid. The shipped model must give
the same scores both ways on shipped messages and on evasion tricks.
"""

from __future__ import annotations

import html
import itertools
import math
import random
import re
import unicodedata

import numpy as np
import pytest

from trustdesk.analysis.text import normalise as steps
from trustdesk.analysis.text.corpus import shipped_training_examples
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.analysis.text.features import (
    _BIGRAM_TAG,
    _MIX,
    _Q,
    _WORD_TAG,
    CHAR_SIZES,
)
from trustdesk.analysis.text.normalise import normalise

EVASIONS = [
    "sh1t b!tch pu55y h0e", "$hit a$$ @ss", "y0u 4r3 4 l0$3r", "b|tch", "s$5s", "a1b2c3d", "f4gg0t",  # leetspeak
    "fuсk yоu", "ѕех", "fυck", "κill yourself", "привет мир", "идиот", "Ｆｕｃｋ ｙｏｕ", "𝐟𝐮𝐜𝐤", "ⓕⓤⓒⓚ",  # look-alikes
    "f\u200bu\u200dc\u2060k\ufeff", "i\u200bd\u200bi\u200bo\u200bt", "fu\u0301ck\u0336", "coração não é café",  # zero-width, marks
    "fuuuuuck yooouuu", "stuuuupid!!!!!!", "nooooo 1000000 £1000", "٣٣٣٣ ...... ", "   ",  # repeats
    "&#102;uck y&#x6f;u &amp; me", "&lt;b&gt;idiot&lt;/b&gt;", "&#30;&#0;&nbsp;x", "&amp;amp;",  # HTML references
    "f.u.c.k off", "f-u-c-k you", "f u c k you", "u r a winner", "a.b", "f*u*c*k", "s h i t",  # spread letters
    "Check http://bit.ly/x9Zq?a=1 and www.Example.com/path", "win at prize-now.top/claim", "mail me a.b@x.co",  # links
    "@somebody hi @user", "@abc @abcdef!", "good  food\n\tthere\u00a0\u2003now", "", "🙂🙂🙂", "a" * 3000,
]

_ORIGINAL_LEET_INNER = re.compile(r"(?<=[a-z])[0134578@$!|9]+(?=[a-z])")


def _reference_fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))
    return " ".join(steps._unmask_token(token) for token in kept.split(" ")) if any(ch in steps._HOMOGLYPH_CHARS for ch in kept) else kept


def _reference_normalise(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    text = text.lower() if text.isascii() else _reference_fold(text)
    text = steps._URL.sub(steps._url, text)
    text = steps._MENTION.sub(" ", text)
    text = _ORIGINAL_LEET_INNER.sub(steps._leet, text)
    text = steps._LEET_EDGE.sub(steps._leet, text)
    text = steps._SPLIT_PUNCT.sub(lambda m: steps._NOT_LETTER.sub("", m.group(0)), text)
    text = steps._SPLIT_SPACE.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = steps._REPEATS.sub(r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


_WORD = re.compile(r"[a-z0-9\x80-\U0010ffff]+")  # what features.py reads as a word
_WORD64 = 2**64


def _bucket(value: int, tag: int, bits: int) -> int:
    mixed = ((value ^ tag) * int(_MIX)) % _WORD64
    mixed ^= mixed >> 29
    return ((mixed * int(_MIX)) % _WORD64) >> (64 - bits)


def _hash(codes: list[int]) -> int:
    return sum(code * pow(int(_Q), k, _WORD64) for k, code in enumerate(codes)) % _WORD64


def _reference_buckets(normalised: str, bits: int) -> list[int]:
    padded = f" {normalised} "
    codes = [ord(ch) for ch in padded]
    found = [_bucket(_hash(codes[a : a + size]), size, bits) for size in CHAR_SIZES for a in range(len(codes) - size + 1)]
    words = [(m.start(), m.end()) for m in _WORD.finditer(padded)]
    found += [_bucket(_hash(codes[a:b]), int(_WORD_TAG), bits) for a, b in words]
    found += [_bucket(_hash(codes[a:b]), int(_BIGRAM_TAG), bits) for (a, _), (_, b) in itertools.pairwise(words)]
    return found


def _reference_scores(tier: FastTier, text: str) -> list[float]:
    buckets = _reference_buckets(_reference_normalise(text), tier.bits)
    squares = sum(float(tier.idf[b]) ** 2 for b in buckets)
    norm = math.sqrt(squares) if squares > 0 else 1.0
    scores = []
    for column in range(len(tier.labels)):
        margin = sum(float(tier.weights[b, column]) for b in buckets) / norm + tier.bias[column]
        scores.append(0.5 * (1.0 + math.tanh(0.5 * (margin * tier.slopes[column] + tier.intercepts[column]))))
    return scores


@pytest.fixture(scope="module")
def sample() -> list[str]:
    shipped = [e.text for e in shipped_training_examples()]
    tricks = random.Random(5)
    pieces = [*"abcdefghijklmnopqrstuvwxyz0134578@$!|9.-*_~+,'/\\ :?#&;", "  ", "\n", "\u200b", "\u0301", "с", "о", "ѕ", "υ",
              "Ｆ", "𝐟", "&#102;", "&amp;", "http://", "www.", ".com", ".co", "@user", "é", "٣", "\xa0", "😀"]
    made_up = ["".join(tricks.choice(pieces) for _ in range(tricks.randint(1, 30))) for _ in range(400)]
    return shipped[:: max(1, len(shipped) // 300)] + EVASIONS + made_up


def test_normalising_gives_the_straightforward_text(sample: list[str]) -> None:
    assert [normalise(text) for text in sample] == [_reference_normalise(text) for text in sample]


def test_the_optimised_path_gives_the_straightforward_scores(sample: list[str]) -> None:
    tier = FastTier.load()
    expected = np.array([_reference_scores(tier, text) for text in sample])
    assert np.ptp(expected, axis=0).min() > 0.5  # the sample spans the scale on every label
    np.testing.assert_allclose(tier.score(sample), expected, rtol=0, atol=1e-9)


def test_evasions_score_the_same_in_a_batch_of_their_own() -> None:
    tier = FastTier.load()
    expected = np.array([_reference_scores(tier, text) for text in EVASIONS])
    np.testing.assert_allclose(tier.score(EVASIONS), expected, rtol=0, atol=1e-9)
