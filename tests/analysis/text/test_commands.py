"""`trustdesk analyze text`, `models train` and `models evaluate` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.analysis.text import deep_tier
from trustdesk.analysis.text.corpus import Example
from trustdesk.cli import app

runner = CliRunner()


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_jsonl_round_trip_on_stdin_with_bad_lines() -> None:
    given = "\n".join([
        json.dumps({"id": "m1", "text": "Thanks for dinner, see you soon!"}),
        "this is not json",
        json.dumps({"id": 2, "text": 42}),
        json.dumps({"text": "no id"}),
        "",
        json.dumps({"id": 3, "text": "Send 0.1 BTC to this wallet and get 0.2 BTC back, guaranteed!"}),
    ])
    result = runner.invoke(app, ["analyze", "text", "--batch-size", "2"], input=given)
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert [row.get("id") for row in rows] == ["m1", None, 2, None, 3]
    assert rows[1] == {"line": 2, "error": "not a JSON object", "field": "line"}
    assert rows[2]["field"] == "text" and rows[3]["field"] == "id"
    assert set(rows[0]["scores"]) == {"offensive", "hate", "spam_scam"}
    assert all(0 <= value <= 1 for value in rows[4]["scores"].values())
    assert rows[4]["scores"]["spam_scam"] > 0.5 > rows[0]["scores"]["spam_scam"]


def test_reads_a_file(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": "hello there"}) + "\n")
    result = runner.invoke(app, ["analyze", "text", str(source)])
    assert result.exit_code == 0, result.output
    assert [row["id"] for row in _lines(result.stdout)] == ["a"]


def test_deep_says_clearly_when_its_extra_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deep_tier, "embeddings_installed", lambda: False)
    result = runner.invoke(app, ["analyze", "text", "--deep"], input="{}\n")
    assert result.exit_code == 2
    assert "pip install 'trustdesk[embeddings]'" in result.output


def test_evaluate_prints_the_figures_and_table(tmp_path: Path) -> None:
    dataset = tmp_path / "set.jsonl"
    rows = [("You are a fucking idiot", 1), ("Shut up, moron", 1), ("See you tomorrow at lunch", 0), ("Lovely weather today", 0)]
    dataset.write_text("".join(json.dumps({"text": t, "labels": {"offensive": y}}) + "\n" for t, y in rows))
    result = runner.invoke(app, ["models", "evaluate", "--labels", "offensive", str(dataset)])
    assert result.exit_code == 0, result.output
    for figure in ("precision", "recall", "macro-F1", "ROC-AUC", "ECE", "threshold", "flagged"):
        assert figure in result.output


def test_evaluate_reads_a_text_and_labels_pair(tmp_path: Path) -> None:
    (tmp_path / "val_text.txt").write_text("you stupid idiot\nnice to meet you\nshut up loser\ngood morning\n")
    (tmp_path / "val_labels.txt").write_text("1\n0\n1\n0\n")
    result = runner.invoke(app, ["models", "evaluate", "--labels", "offensive", str(tmp_path / "val_text.txt")])
    assert result.exit_code == 0, result.output
    assert "4 texts, 2 positive" in result.output


def test_evaluate_refuses_an_unknown_label(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "evaluate", "--labels", "nope", "held-out"])
    assert result.exit_code == 2
    assert "unknown label 'nope'" in result.output


def test_train_on_an_export_then_score_with_it(fixture_examples: list[Example], tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="training needs the training extra (scikit-learn)")
    export = tmp_path / "decisions.jsonl"
    export.write_text("".join(json.dumps({"text": e.text, "labels": e.labels}) + "\n" for e in fixture_examples))
    models = tmp_path / "models"
    result = runner.invoke(app, ["models", "train", "--no-shipped", "--data", str(export), "--output", str(models)])
    assert result.exit_code == 0, result.output
    scored = runner.invoke(app, ["analyze", "text", "--models", str(models)], input=json.dumps({"id": 1, "text": "send bitcoin to double your money 77"}) + "\n")
    assert _lines(scored.stdout)[0]["scores"]["spam_scam"] > 0.5


def test_train_names_the_bad_line_of_an_export(tmp_path: Path) -> None:
    export = tmp_path / "decisions.jsonl"
    export.write_text('{"text": "x", "labels": {"hate": "yes"}}\n')
    result = runner.invoke(app, ["models", "train", "--no-shipped", "--data", str(export), "--output", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "decisions.jsonl:1: field 'labels'" in result.output
