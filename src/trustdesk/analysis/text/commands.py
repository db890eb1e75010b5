"""`trustdesk analyze text`, `trustdesk models train` and `trustdesk models evaluate`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import numpy as np
import orjson
import typer
from rich.console import Console
from rich.table import Table

from trustdesk.analysis.text.corpus import DatasetError, Example, read_dataset, read_jsonl, shipped_training_examples, split_of
from trustdesk.analysis.text.deep_tier import DeepTier, DeepTierUnavailable, embeddings_installed, load_embedder
from trustdesk.analysis.text.embedding_cache import cached
from trustdesk.analysis.text.evaluation import Evaluation, evaluate
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.analysis.text.training import DEFAULT_SEED, LabelReport, train_deep_head, train_fast_tier

analyze_app = typer.Typer(help="Score content with the analysers.", no_args_is_help=True)
models_app = typer.Typer(help="Train and evaluate the text classifier.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
HELD_OUT = "held-out"
NOT_INSTALLED = "the deep tier is not installed: pip install 'trustdesk[embeddings]' (the fast tier needs nothing more)"

ModelsOption = Annotated[Path | None, typer.Option("--models", help="Directory of trained artefacts; default: the shipped ones.")]
DeepOption = Annotated[bool, typer.Option("--deep", help="Add the deep tier (needs the embeddings extra).")]


def _fail(message: str) -> NoReturn:
    console.print(message, style="red", markup=False, highlight=False)
    raise typer.Exit(2)


def _load(models: Path | None, deep: bool) -> tuple[FastTier, DeepTier | None]:
    fast = FastTier.load(models)
    if not deep:
        return fast, None
    try:
        return fast, DeepTier.load(fast, models)
    except DeepTierUnavailable as exc:
        _fail(str(exc))


def _parse(line: str, number: int) -> tuple[object, str] | dict:
    """(id, text), or the error line to write instead."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return {"line": number, "error": "not a JSON object", "field": "line"}
    if not isinstance(row, dict):
        return {"line": number, "error": "not a JSON object", "field": "line"}
    ident = row.get("id")
    if ident is None or isinstance(ident, dict | list | bool):
        return {"line": number, "error": "must be a string or a number", "field": "id"}
    if not isinstance(row.get("text"), str):
        return {"line": number, "id": ident, "error": "must be a string", "field": "text"}
    return ident, row["text"]


def _batches(stream: TextIO, size: int) -> Iterator[list[tuple[int, str]]]:
    batch: list[tuple[int, str]] = []
    for number, line in enumerate(stream, start=1):
        if line.strip():
            batch.append((number, line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _scores(labels: tuple[str, ...], row: np.ndarray) -> dict[str, float]:
    return {label: round(float(value), 4) for label, value in zip(labels, row, strict=True)}


@analyze_app.command("text")
def analyze_text(
    source: Annotated[Path | None, typer.Argument(help="JSON lines {\"id\":…, \"text\":…}; default: standard input.")] = None,
    deep: DeepOption = False,
    models: ModelsOption = None,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 2000,
) -> None:
    """Write {"id":…, "scores": {label: score}} per input line (and "deep_scores" with --deep).

    A bad line gives {"line": N, "error": …, "field": …} in its place and the run goes on.
    """
    fast, deep_tier = _load(models, deep)
    stream = source.open(encoding="utf-8", errors="replace") if source else sys.stdin
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    errors = 0
    try:
        for batch in _batches(stream, batch_size):
            parsed = [(number, _parse(line, number)) for number, line in batch]
            good = [item for _, item in parsed if isinstance(item, tuple)]
            texts = [text for _, text in good]
            fast_scores = iter(fast.score(texts))
            deep_scores = iter(deep_tier.score(texts)) if deep_tier else None
            lines = []
            for _, item in parsed:
                if isinstance(item, dict):
                    errors += 1
                    lines.append(orjson.dumps(item))
                    continue
                result = {"id": item[0], "scores": _scores(fast.labels, next(fast_scores))}
                if deep_scores is not None and deep_tier is not None:
                    result["deep_scores"] = _scores(deep_tier.labels, next(deep_scores))
                lines.append(orjson.dumps(result))
            payload = b"\n".join(lines) + b"\n"
            if out is not None:
                out.write(payload)
                out.flush()
            else:
                sys.stdout.write(payload.decode())
    finally:
        if source:
            stream.close()
    if errors:
        console.print(f"{errors} line(s) could not be scored; see their error lines")


def _print_report(reports: list[LabelReport], title: str) -> None:
    table = Table(title=title)
    for column in ("label", "trained on", "calibrated on", "test macro-F1", "test ROC-AUC", "test ECE"):
        table.add_column(column)
    for report in reports:
        test = report.test
        figures = (f"{test.at_default.macro_f1:.3f}", f"{test.roc_auc:.3f}", f"{test.ece:.3f}") if test else ("–", "–", "–")
        table.add_row(report.label, str(report.trained_on), str(report.calibrated_on), *figures)
    Console().print(table)


@models_app.command("train")
def models_train(
    output: Annotated[Path, typer.Option(help="Directory to write the artefacts to.")] = Path("var/models"),
    data: Annotated[list[Path] | None, typer.Option("--data", help="A labelled JSONL export (repeatable), added to the shipped sets.")] = None,
    shipped: Annotated[bool, typer.Option(help="Include the shipped training sets.")] = True,
    seed: int = DEFAULT_SEED,
    deep: Annotated[bool, typer.Option("--deep", help="Also train the deep tier's head (needs the embeddings extra).")] = False,
    embedding_cache: Annotated[Path | None, typer.Option(help="Keep embeddings here and reuse them on the next run.")] = None,
) -> None:
    """Train the fast tier (and with --deep the deep head) reproducibly: same data and seed, same weights."""
    examples: list[Example] = shipped_training_examples() if shipped else []
    try:
        for path in data or []:
            examples += read_jsonl(path)
    except (DatasetError, OSError) as exc:
        _fail(str(exc))
    if deep and not embeddings_installed():
        _fail(NOT_INSTALLED)
    try:
        fast, reports = train_fast_tier(examples, seed=seed)
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc))
    fast.save(output)
    fast = FastTier.load(output)
    _print_report(reports, f"fast tier {fast.version}: held-out split of the training sets")
    if deep:
        embed = load_embedder()
        head, deep_reports = train_deep_head(examples, fast, cached(embed, embedding_cache) if embedding_cache else embed, seed=seed)
        head.save(output)
        _print_report(deep_reports, "deep tier head: held-out split of the training sets")
    console.print(f"artefacts written to {output}")


def _labelled(dataset: str, label: str) -> list[Example]:
    if dataset == HELD_OUT:
        return [e for e in shipped_training_examples() if label in e.labels and split_of(e.text) == "test"]
    return [e for e in read_dataset(Path(dataset), label) if label in e.labels]


def print_evaluation(name: str, evaluation: Evaluation) -> None:
    out = Console(soft_wrap=True)
    default = evaluation.at_default
    out.print(
        f"[bold]{name}[/bold]: {evaluation.count} texts, {evaluation.positives} positive — "
        f"precision {default.precision:.3f}, recall {default.recall:.3f}, F1 {default.f1:.3f}, "
        f"macro-F1 {default.macro_f1:.3f}, ROC-AUC {evaluation.roc_auc:.3f}, ECE {evaluation.ece:.3f} (threshold {default.threshold})"
    )
    table = Table()
    for column in ("threshold", "precision", "recall", "F1", "macro-F1", "flagged"):
        table.add_column(column, justify="right")
    for row in evaluation.table:
        table.add_row(f"{row.threshold:.1f}", f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}", f"{row.macro_f1:.3f}", f"{row.flagged:.1%}")
    out.print(table)


@models_app.command("evaluate")
def models_evaluate(
    dataset: Annotated[str, typer.Argument(help=f"Labelled JSONL, a TweetEval *_text.txt (labels beside it), or '{HELD_OUT}'.")],
    labels: Annotated[list[str], typer.Option("--labels", help="Label(s) to evaluate.")],
    deep: DeepOption = False,
    models: ModelsOption = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.5,
) -> None:
    """Precision, recall, macro-F1, ROC-AUC, ECE and a threshold table for a labelled set."""
    fast, deep_tier = _load(models, deep)
    tier = deep_tier or fast
    for label in labels:
        if label not in tier.labels:
            _fail(f"unknown label {label!r}: the model knows {', '.join(tier.labels)}")
        try:
            examples = _labelled(dataset, label)
        except (DatasetError, OSError) as exc:
            _fail(str(exc))
        targets = np.array([e.labels[label] for e in examples])
        if not 0 < targets.sum() < len(targets):
            _fail(f"{label}: the set needs positive and negative examples ({len(targets)} rows)")
        scores = tier.score([e.text for e in examples])[:, tier.labels.index(label)]
        print_evaluation(f"{label} ({'deep' if deep_tier else 'fast'} tier) on {dataset}", evaluate(scores, targets, threshold))

