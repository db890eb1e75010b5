"""Text bank matching: texts per second against hundreds of entries, and the cost of a refresh.

    python bench/text_bank_match.py                       # 500 keywords, 300 phrases, 100 patterns
    python bench/text_bank_match.py --keywords 5000 --runs 7

Three active banks on a fresh SQLite database: keywords and phrases made of random letters
(fixed seed), and patterns in the shape of contact and payment lures (`word\\d{3,}`, `x\\.me/\\w+`).
The texts are 2,000 messages of 20–40 random words with a bank entry planted in one in ten, so
most texts match nothing, as in production. A text is one `matched()` call (no batching); the rate
is the median of several runs over the same texts. A refresh with nothing changed (one query of
the banks' revisions) and a recompile of the largest bank after a change are timed too.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import tempfile
import time
from pathlib import Path

from trustdesk.audit.log import Actor
from trustdesk.domain.text_banks import TextBankSpec, entry
from trustdesk.store.database import Database
from trustdesk.store.migrate import upgrade
from trustdesk.text_banks.banks import add_entries, bank_named, create_bank
from trustdesk.text_banks.matcher import TextBankMatcher

ACTOR = Actor("cli", "bench")
TEXTS = 2000
TARGET = 1000  # texts per second


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9)))


def _fill(db: Database, rng: random.Random, keywords: int, phrases: int, patterns: int) -> list[str]:
    """The three banks; returns some of their entries to plant in texts."""
    banks = {
        "keywords": ("keyword", {_word(rng) for _ in range(keywords)}),
        "phrases": ("phrase", {f"{_word(rng)} {_word(rng)}" for _ in range(phrases)}),
        "patterns": ("regex", {rf"{_word(rng)}\d{{3,}}" if i % 2 else rf"{_word(rng)}\.me/\w+" for i in range(patterns)}),
    }
    with db.session() as s:
        for name, (kind, values) in banks.items():
            bank = create_bank(s, ACTOR, TextBankSpec(name, kind))
            add_entries(s, ACTOR, bank, [entry(kind, v) for v in values], source="bench")
    return sorted(banks["keywords"][1])[:50] + sorted(banks["phrases"][1])[:50]


def _texts(rng: random.Random, planted: list[str]) -> list[str]:
    texts = []
    for i in range(TEXTS):
        words = [_word(rng) for _ in range(rng.randint(20, 40))]
        if i % 10 == 0:
            words.insert(rng.randrange(len(words)), rng.choice(planted))
        texts.append(" ".join(words).capitalize() + ".")
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keywords", type=int, default=500)
    parser.add_argument("--phrases", type=int, default=300)
    parser.add_argument("--patterns", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        texts = _texts(rng, _fill(db, rng, args.keywords, args.phrases, args.patterns))
        matcher = TextBankMatcher(db, max_age=3600)
        started = time.perf_counter()
        matcher.refresh()
        print(f"first load: {time.perf_counter() - started:.3f} s")
        rates, hits = [], 0
        for _run in range(args.runs):
            started = time.perf_counter()
            hits = sum(1 for text in texts if matcher.matched(text, app="bench", language="en"))
            rates.append(len(texts) / (time.perf_counter() - started))
        rate = statistics.median(rates)
        print(f"{rate:,.0f} texts/s (median of {args.runs}), {hits} of {len(texts)} texts matched; target {TARGET:,}/s: "
              f"{'met' if rate >= TARGET else 'MISSED'}")
        started = time.perf_counter()
        matcher.refresh()
        print(f"refresh with nothing changed: {(time.perf_counter() - started) * 1000:.2f} ms")
        with db.session() as s:
            add_entries(s, ACTOR, bank_named(s, "keywords"), [entry("keyword", "zzzextra")], source="bench")
        started = time.perf_counter()
        matcher.refresh()
        print(f"refresh recompiling the keyword bank: {(time.perf_counter() - started) * 1000:.1f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
