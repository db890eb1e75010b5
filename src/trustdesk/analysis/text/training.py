"""Training both tiers from labelled examples, reproducibly (same data and seed, same weights).

Each label is fitted on the examples that know it, in the ``train`` split; its Platt scaling on
the ``calibration`` split, scored through the run-time code path (float16 weights included); and
it is measured on the ``test`` split, which neither step saw. scikit-learn is used here only
(the ``trustdesk[training]`` extra); scoring needs numpy alone.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trustdesk.analysis.text.calibration import fit_platt
from trustdesk.analysis.text.corpus import LABELS, Example, split_of
from trustdesk.analysis.text.deep_tier import DeepHead, head_inputs
from trustdesk.analysis.text.evaluation import Evaluation, evaluate
from trustdesk.analysis.text.fast_tier import FastTier
from trustdesk.analysis.text.features import occurrences, row_norms
from trustdesk.analysis.text.normalise import normalise

DEFAULT_SEED = 8
DEFAULT_BITS = 18
REGULARISATION = 128.0  # inverse strength (scikit-learn's C); weak: hashed n-grams are many and sparse
# The deep head sees at most about this many examples of one source and label pattern: the
# embedding model is slow on a CPU, and the largest groups (Davidson's "offensive") add little.
DEEP_GROUP_CAP = 3200


@dataclass(frozen=True)
class LabelReport:
    label: str
    trained_on: int
    calibrated_on: int
    test: Evaluation | None  # None when the test split has no example of both classes


def _require_scikit_learn() -> type:
    """scikit-learn's LogisticRegression, or a clear message naming the extra to install."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise RuntimeError("training needs scikit-learn: pip install 'trustdesk[training]'") from exc
    return LogisticRegression


def _known(examples: Sequence[Example], label: str, split: str) -> list[Example]:
    return [e for e in examples if label in e.labels and split_of(e.text) == split]


def _targets(examples: Sequence[Example], label: str) -> np.ndarray:
    return np.array([e.labels[label] for e in examples], dtype=np.int64)


def _document_frequency_idf(normalised: Sequence[str], bits: int) -> np.ndarray:
    found = occurrences(normalised, bits)
    pairs = np.unique(found.rows * (1 << bits) + found.buckets)
    frequency = np.bincount(pairs & ((1 << bits) - 1), minlength=1 << bits)
    return (np.log((1 + found.count) / (1 + frequency)) + 1).astype(np.float16).astype(np.float32)


def _design_matrix(normalised: Sequence[str], bits: int, idf: np.ndarray) -> Any:  # a scipy sparse matrix
    from scipy.sparse import csr_matrix  # scipy comes with scikit-learn

    found = occurrences(normalised, bits)
    occurrence_idf = idf[found.buckets]
    values = occurrence_idf / row_norms(found, occurrence_idf)[found.rows]
    return csr_matrix((values, (found.rows, found.buckets)), shape=(found.count, 1 << bits))


def _measure(scores: np.ndarray, targets: np.ndarray) -> Evaluation | None:
    return evaluate(scores, targets) if 0 < targets.sum() < len(targets) else None


def train_fast_tier(
    examples: Sequence[Example], seed: int = DEFAULT_SEED, bits: int = DEFAULT_BITS, labels: Sequence[str] = LABELS
) -> tuple[FastTier, list[LabelReport]]:
    logistic = _require_scikit_learn()
    train_texts = sorted({e.text for e in examples if split_of(e.text) == "train"})
    normalised_of = {e.text: normalise(e.text) for e in examples}
    idf = _document_frequency_idf([normalised_of[t] for t in train_texts], bits)
    weights = np.zeros((1 << bits, len(labels)), dtype=np.float32)
    bias = np.zeros(len(labels))
    for column, label in enumerate(labels):
        train = _known(examples, label, "train")
        targets = _targets(train, label)
        if not 0 < targets.sum() < len(targets):
            raise ValueError(f"label {label!r} needs positive and negative training examples")
        model = logistic(C=REGULARISATION, solver="liblinear", random_state=seed, max_iter=1000)
        model.fit(_design_matrix([normalised_of[e.text] for e in train], bits, idf), targets)
        weights[:, column] = model.coef_[0] * idf
        bias[column] = model.intercept_[0]
    tier = FastTier(
        tuple(labels), bits, idf, weights.astype(np.float16).astype(np.float32), bias,
        np.ones(len(labels)), np.zeros(len(labels)),
    )
    reports = []
    for column, label in enumerate(labels):
        calibration = _known(examples, label, "calibration")
        margins = tier.margins_of_normalised([normalised_of[e.text] for e in calibration])[:, column]
        platt = fit_platt(margins, _targets(calibration, label))
        tier.slopes[column], tier.intercepts[column] = platt.slope, platt.intercept
        test = _known(examples, label, "test")
        scores = tier.calibrate(tier.margins_of_normalised([normalised_of[e.text] for e in test]))[:, column]
        reports.append(LabelReport(label, len(_known(examples, label, "train")), len(calibration), _measure(scores, _targets(test, label))))
    return tier, reports


def deep_subsample(examples: Sequence[Example]) -> list[Example]:
    """At most about DEEP_GROUP_CAP examples per source and label pattern, chosen by checksum."""
    groups: dict[tuple[str, tuple], list[Example]] = defaultdict(list)
    for example in examples:
        groups[(example.source, tuple(sorted(example.labels.items())))].append(example)
    kept = []
    for members in groups.values():
        every = math.ceil(len(members) / DEEP_GROUP_CAP)
        kept += [e for e in members if (zlib.crc32(e.text.encode("utf-8")) // 100) % every == 0]
    return kept


def train_deep_head(
    examples: Sequence[Example],
    fast: FastTier,
    embed: Callable[[Sequence[str]], np.ndarray],
    seed: int = DEFAULT_SEED,
    labels: Sequence[str] = LABELS,
) -> tuple[DeepHead, list[LabelReport]]:
    """A logistic head per label over the sentence embedding and the fast tier's margins."""
    logistic = _require_scikit_learn()
    chosen = deep_subsample(examples)
    normalised = sorted({normalise(e.text) for e in chosen})
    inputs_of = dict(zip(normalised, head_inputs(fast, normalised, embed(normalised)), strict=True))

    def inputs(rows: Sequence[Example]) -> np.ndarray:
        return np.array([inputs_of[normalise(e.text)] for e in rows])

    width = len(next(iter(inputs_of.values())))
    weights, bias = np.zeros((width, len(labels))), np.zeros(len(labels))
    for column, label in enumerate(labels):
        train = [e for e in chosen if label in e.labels and split_of(e.text) == "train"]
        model = logistic(C=1.0, solver="liblinear", random_state=seed, max_iter=2000)
        model.fit(inputs(train), _targets(train, label))
        weights[:, column], bias[column] = model.coef_[0], model.intercept_[0]
    head = DeepHead(tuple(labels), weights, bias, np.ones(len(labels)), np.zeros(len(labels)), fast_version=fast.version)
    reports = []
    for column, label in enumerate(labels):
        calibration = [e for e in chosen if label in e.labels and split_of(e.text) == "calibration"]
        platt = fit_platt(head.margins(inputs(calibration))[:, column], _targets(calibration, label))
        head.slopes[column], head.intercepts[column] = platt.slope, platt.intercept
        test = [e for e in chosen if label in e.labels and split_of(e.text) == "test"]
        scores = head.calibrate(head.margins(inputs(test)))[:, column]
        train_count = sum(1 for e in chosen if label in e.labels and split_of(e.text) == "train")
        reports.append(LabelReport(label, train_count, len(calibration), _measure(scores, _targets(test, label))))
    return head, reports
