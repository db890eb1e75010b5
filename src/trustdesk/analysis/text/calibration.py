"""Platt scaling: turn a model's raw margin into a probability whose 0.5 is the decision threshold.

A linear model's margins are only ranked well; the sigmoid ``1 / (1 + exp(-(a * margin + b)))``
fitted on examples the model was not trained on makes "0.7" mean "about 7 in 10 of these are
positive" on data like the calibration set. The fit is Newton's method with step halving on the log-loss with
Platt's smoothed targets, so a perfectly separated calibration set still gives finite weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Platt:
    slope: float
    intercept: float

    def apply(self, margins: np.ndarray) -> np.ndarray:
        return sigmoid(self.slope * margins + self.intercept)


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * values))  # stable for large |values|


def fit_platt(margins: np.ndarray, labels: np.ndarray, iterations: int = 100) -> Platt:
    """Fit the sigmoid on held-out margins and their 0/1 labels."""
    margins = np.asarray(margins, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    positives = labels.sum()
    negatives = len(labels) - positives
    targets = np.where(labels > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    design = np.column_stack([margins, np.ones_like(margins)])
    params = np.array([1.0, 0.0])

    def loss(candidate: np.ndarray) -> float:
        z = design @ candidate
        return float(np.sum(np.logaddexp(0, z) - targets * z))

    current = loss(params)
    for _ in range(iterations):
        probability = sigmoid(design @ params)
        gradient = design.T @ (probability - targets)
        weight = np.maximum(probability * (1 - probability), 1e-12)
        hessian = design.T @ (design * weight[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6 and loss(params - scale * step) > current:  # halve until the loss falls
            scale /= 2
        params = params - scale * step
        previous, current = current, loss(params)
        if previous - current < 1e-12 * max(1.0, abs(previous)):
            break
    slope, intercept = params
    return Platt(float(slope), float(intercept))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Share-weighted gap between mean score and observed rate, over equal-width score bins."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    score_sums = np.bincount(which, weights=probabilities, minlength=bins)
    label_sums = np.bincount(which, weights=labels, minlength=bins)
    return float(np.abs(score_sums - label_sums).sum() / max(len(labels), 1))
