"""The fast tier: hashed n-grams of normalised text into one logistic model per label.

Scoring is numpy only (no scikit-learn at run time): a batch becomes n-gram occurrences
(`features.occurrences`), each occurrence adds its bucket's weight to its message's margin, the
margin is divided by the message's vector length and the label's Platt sigmoid makes it a
probability whose 0.5 is the decision threshold.

The artefact is one ``.npz``: labels, hash bits, the idf of every bucket and the weights
(float16, already multiplied by the idf), bias and the calibration's slope and intercept per
label. Its version is the first 12 hex characters of its SHA-256, recorded with every signal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from trustdesk.analysis.text.calibration import sigmoid
from trustdesk.analysis.text.features import occurrences, row_norms
from trustdesk.analysis.text.normalise import normalise

ARTEFACT = "fast_tier.npz"


def shipped_models() -> Path:
    """The directory of the artefacts trained from the shipped data."""
    return Path(str(resources.files("trustdesk.analysis.text") / "models"))


@dataclass
class FastTier:
    labels: tuple[str, ...]
    bits: int
    idf: np.ndarray  # (2**bits,) float32
    weights: np.ndarray  # (2**bits, labels) float32, multiplied by idf
    bias: np.ndarray  # (labels,)
    slopes: np.ndarray  # Platt slope per label
    intercepts: np.ndarray  # Platt intercept per label
    version: str = "unsaved"

    @classmethod
    def load(cls, directory: Path | None = None) -> FastTier:
        path = (directory or shipped_models()) / ARTEFACT
        raw = path.read_bytes()
        with np.load(path) as data:
            return cls(
                labels=tuple(str(label) for label in data["labels"]),
                bits=int(data["bits"]),
                idf=data["idf"].astype(np.float32),
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float64),
                slopes=data["slopes"].astype(np.float64),
                intercepts=data["intercepts"].astype(np.float64),
                version=hashlib.sha256(raw).hexdigest()[:12],
            )

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTEFACT
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                labels=np.array(self.labels),
                bits=np.array(self.bits),
                idf=self.idf.astype(np.float16),
                weights=self.weights.astype(np.float16),
                bias=self.bias,
                slopes=self.slopes,
                intercepts=self.intercepts,
            )
        return path

    def __post_init__(self) -> None:
        # Each bucket's weights and idf side by side in one row, so that a batch fetches all of an
        # occurrence's numbers with one gather (np.take: faster than indexing with an array).
        self._weights_and_idf = np.column_stack([self.weights, self.idf]).astype(np.float32)

    def margins_of_normalised(self, normalised: Sequence[str]) -> np.ndarray:
        """Raw margins, shape (messages, labels), before calibration."""
        found = occurrences(normalised, self.bits)
        fetched = np.take(self._weights_and_idf, found.buckets, axis=0)
        inverse_norm = 1.0 / row_norms(found, fetched[:, -1])
        margins = np.empty((found.count, len(self.labels)))
        for column in range(len(self.labels)):
            margins[:, column] = np.bincount(found.rows, weights=fetched[:, column], minlength=found.count)
        return margins * inverse_norm[:, None] + self.bias

    def calibrate(self, margins: np.ndarray) -> np.ndarray:
        return sigmoid(margins * self.slopes + self.intercepts)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated scores in [0, 1], shape (messages, labels), in the order of `labels`."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self.calibrate(self.margins_of_normalised([normalise(text) for text in texts]))
