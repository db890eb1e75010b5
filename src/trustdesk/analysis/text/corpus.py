"""Labelled text: the sets shipped for training, a team's export of decisions, TweetEval pairs.

One labelled format everywhere, JSON lines: ``{"text": "...", "labels": {"offensive": 1, "hate": 0}}``.
A row names only the labels someone decided: a label it leaves out is unknown for that text, not
negative, and training for that label skips the row. Other keys (``language``, ``topic`` …) are
kept for reports.

Shipped sets (``data/``, see ``data/NOTICE``): Davidson et al. tweets (MIT) with ``offensive`` =
classes 0 and 1, ``hate`` = class 0; the SMS Spam Collection (CC BY 4.0) for ``spam_scam``; and
messages written for TrustDesk — dating and marketplace scams with benign look-alikes, insults
with benign look-alikes, and Spanish and Portuguese examples. Every shipped row falls in one split
by a checksum of its text, so the split never depends on file order and duplicates stay together.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

LABELS = ("offensive", "hate", "spam_scam")
TRAINING_SETS = ("davidson.jsonl.gz", "sms_spam_collection.jsonl.gz", "written.jsonl")
LANGUAGE_TEST_SET = "language_test.jsonl"
DIALECT_PAIRS = "dialect_pairs.jsonl"
Split = Literal["train", "calibration", "test"]


class DatasetError(ValueError):
    """A labelled file that cannot be read; names the line and the field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Example:
    text: str
    labels: dict[str, int]
    source: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def split_of(text: str) -> Split:
    """70 % train, 15 % calibration (fits the score scaling), 15 % test (never seen in fitting)."""
    bucket = zlib.crc32(text.encode("utf-8")) % 100
    return "train" if bucket < 70 else "calibration" if bucket < 85 else "test"


def _data_file(name: str) -> Path:
    return Path(str(resources.files("trustdesk.analysis.text") / "data" / name))


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def parse_example(line: str, source: str = "") -> Example:
    """One labelled JSON line; raises DatasetError naming the field at fault."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"not JSON: {exc.msg}", "line") from exc
    if not isinstance(row, dict):
        raise DatasetError("a line must be a JSON object", "line")
    text, labels = row.get("text"), row.get("labels")
    if not isinstance(text, str):
        raise DatasetError("must be a string", "text")
    if not isinstance(labels, dict) or not labels:
        raise DatasetError('must be an object such as {"offensive": 1}', "labels")
    for name, value in labels.items():
        if value not in (0, 1) or isinstance(value, float):
            raise DatasetError(f"label {name!r} must be 0 or 1", "labels")
    extra = {k: str(v) for k, v in row.items() if k not in ("text", "labels")}
    return Example(text, {str(k): int(v) for k, v in labels.items()}, source, extra)


def read_jsonl(path: Path, source: str = "") -> list[Example]:
    examples = []
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            examples.append(parse_example(line, source or path.name))
        except DatasetError as exc:
            raise DatasetError(f"{path}:{number}: field {exc.field!r}: {exc}", exc.field) from exc
    return examples


def shipped_training_examples() -> list[Example]:
    return [example for name in TRAINING_SETS for example in read_jsonl(_data_file(name), name)]


def language_test_examples() -> list[Example]:
    return read_jsonl(_data_file(LANGUAGE_TEST_SET))


def dialect_pairs() -> list[tuple[str, str]]:
    """Benign messages as (African-American English, standard English) pairs of the same meaning."""
    rows = [json.loads(line) for line in _lines(_data_file(DIALECT_PAIRS)) if line.strip()]
    return [(row["aae"], row["sae"]) for row in rows]


def read_tweeteval(text_file: Path, label: str) -> list[Example]:
    """A TweetEval pair: ``*_text.txt`` and ``*_labels.txt`` side by side, one row per line."""
    labels_file = text_file.with_name(text_file.name.replace("_text.txt", "_labels.txt"))
    if labels_file == text_file or not labels_file.exists():
        raise DatasetError(f"no labels file beside {text_file} (expected {labels_file.name})", "dataset")
    # only "\n" ends a line: a tweet may hold other line-breaking characters (U+2028 …)
    texts = text_file.read_text(encoding="utf-8").removesuffix("\n").split("\n")
    values = labels_file.read_text(encoding="utf-8").split()
    if len(texts) != len(values):
        raise DatasetError(f"{text_file.name} has {len(texts)} lines, {labels_file.name} {len(values)}", "dataset")
    return [Example(text, {label: int(value)}, text_file.name) for text, value in zip(texts, values, strict=True)]


def read_dataset(path: Path, label: str) -> list[Example]:
    """A labelled set by path: a TweetEval ``*_text.txt`` file, or JSON lines."""
    if path.name.endswith("_text.txt"):
        return read_tweeteval(path, label)
    return read_jsonl(path)
