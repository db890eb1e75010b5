"""Training is reproducible and learns; the labelled export format is checked line by line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from trustdesk.analysis.text.corpus import DatasetError, Example, read_jsonl
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.analysis.text.training import train_fast_tier

pytest.importorskip("sklearn", reason="training needs the training extra (scikit-learn)")


def test_same_seed_same_weights_and_saved_bytes(fixture_examples: list[Example], tmp_path: Path) -> None:
    first, _ = train_fast_tier(fixture_examples, seed=3, bits=12)
    second, _ = train_fast_tier(fixture_examples, seed=3, bits=12)
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.slopes, second.slopes)
    assert first.save(tmp_path / "a").read_bytes() == second.save(tmp_path / "b").read_bytes()
    assert FastTier.load(tmp_path / "a").version == FastTier.load(tmp_path / "b").version


def test_other_data_gives_other_weights(fixture_examples: list[Example]) -> None:
    first, _ = train_fast_tier(fixture_examples, seed=3, bits=12)
    other, _ = train_fast_tier(fixture_examples[:-40], seed=3, bits=12)
    assert not np.array_equal(first.weights, other.weights)


def test_the_trained_tier_separates_its_labels(fixture_examples: list[Example]) -> None:
    tier, reports = train_fast_tier(fixture_examples, seed=3, bits=12)
    scores = tier.score(["you are a stupid idiot 99", "send bitcoin to double your money 99", "happy birthday my friend 99"])
    offensive, _, spam = (tier.labels.index(label) for label in ("offensive", "hate", "spam_scam"))
    assert scores[0, offensive] > 0.5 > scores[2, offensive]
    assert scores[1, spam] > 0.5 > scores[2, spam]
    assert [report.label for report in reports] == ["offensive", "hate", "spam_scam"]


def test_a_label_without_both_classes_is_refused() -> None:
    only_positive = [Example(f"spam number {n}", {"spam_scam": 1}) for n in range(50)]
    with pytest.raises(ValueError, match="spam_scam"):
        train_fast_tier(only_positive, labels=("spam_scam",), bits=10)


def test_export_rows_name_only_the_labels_decided(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps({"text": "buy now", "labels": {"spam_scam": 1}, "case": "c-1"}) + "\n\n")
    [example] = read_jsonl(path)
    assert example.labels == {"spam_scam": 1}
    assert example.extra == {"case": "c-1"}


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"labels": {"hate": 1}}', "text"),
        ('{"text": "x", "labels": {"hate": 2}}', "labels"),
        ('{"text": "x", "labels": {}}', "labels"),
        ('{"text": "x", "labels": {"hate": 0.5}}', "labels"),
        ("not json", "line"),
    ],
)
def test_a_bad_export_line_names_its_line_and_field(tmp_path: Path, line: str, field: str) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('{"text": "fine", "labels": {"hate": 0}}\n' + line + "\n")
    with pytest.raises(DatasetError, match=f"export.jsonl:2: field '{field}'"):
        read_jsonl(path)
