"""How well scores separate a labelled set: precision, recall, macro-F1, ROC-AUC, a threshold table.

Plain numpy, so a team can evaluate on its own labelled decisions without the training extra.
Macro-F1 is the mean of the F1 of the positive and of the negative class: on sets where most
messages are benign it does not reward a model that flags nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trustdesk.analysis.text.calibration import expected_calibration_error

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class AtThreshold:
    threshold: float
    precision: float  # of the positive class
    recall: float
    f1: float
    macro_f1: float
    flagged: float  # share of messages at or above the threshold


@dataclass(frozen=True)
class Evaluation:
    count: int
    positives: int
    roc_auc: float
    ece: float
    at_default: AtThreshold
    table: tuple[AtThreshold, ...]


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float) -> AtThreshold:
    """Positive when the score is at or above the threshold."""
    predicted = scores >= threshold
    actual = labels.astype(bool)
    true_pos = int(np.sum(predicted & actual))
    false_pos = int(np.sum(predicted & ~actual))
    false_neg = int(np.sum(~predicted & actual))
    true_neg = int(np.sum(~predicted & ~actual))
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    neg_precision = true_neg / (true_neg + false_neg) if true_neg + false_neg else 0.0
    neg_recall = true_neg / (true_neg + false_pos) if true_neg + false_pos else 0.0
    f1 = _f1(precision, recall)
    macro = (f1 + _f1(neg_precision, neg_recall)) / 2
    return AtThreshold(threshold, precision, recall, f1, macro, float(predicted.mean()) if len(scores) else 0.0)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The chance that a random positive outscores a random negative (ties count half)."""
    actual = labels.astype(bool)
    positives, negatives = int(actual.sum()), int((~actual).sum())
    if not positives or not negatives:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average rank of each run of equal scores
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    return float((ranks[actual].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def evaluate(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> Evaluation:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    return Evaluation(
        count=len(labels),
        positives=int(labels.sum()),
        roc_auc=roc_auc(scores, labels),
        ece=expected_calibration_error(scores, labels),
        at_default=at_threshold(scores, labels, threshold),
        table=tuple(at_threshold(scores, labels, t) for t in THRESHOLDS),
    )
