"""Embeddings kept on disk between training runs, keyed by the SHA-1 of the normalised text.

Embedding tens of thousands of texts takes long on a CPU; retraining the deep head with other
data or settings should not pay for it again. The cache is a directory of ``part-*.npz`` files,
each with ``keys`` (hex SHA-1) and ``vectors``; a run adds one part for what it had to embed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from trustdesk.analysis.text.deep_tier import Embedder


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached(embed: Embedder, directory: Path) -> Embedder:
    directory.mkdir(parents=True, exist_ok=True)
    known: dict[str, np.ndarray] = {}
    for part in sorted(directory.glob("part*.npz")):
        with np.load(part) as data:
            known.update(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))

    def embed_cached(texts: Sequence[str]) -> np.ndarray:
        keys = [_key(text) for text in texts]
        missing = sorted({key: text for key, text in zip(keys, texts, strict=True) if key not in known}.items())
        if missing:
            vectors = embed([text for _, text in missing])
            np.savez(directory / f"part-{len(list(directory.glob('part*.npz'))):04d}.npz", keys=np.array([k for k, _ in missing]), vectors=vectors)
            known.update(zip((k for k, _ in missing), vectors, strict=True))
        return np.array([known[key] for key in keys], dtype=np.float32)

    return embed_cached
