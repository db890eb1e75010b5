"""The shipped fast tier: loads without scikit-learn, scores in [0, 1], and gets clear cases right."""

from __future__ import annotations

import numpy as np

from trustdesk.analysis.text.corpus import LABELS, dialect_pairs, language_test_examples
from trustdesk.analysis.text.fast_tier import FastTier

CRYPTO_SCAM = "Hi dear, I make 30% a week trading Bitcoin. Register at coin-profit.vip with my code and deposit 500 USDT, guaranteed returns!"
PARCEL_SCAM = "USPS: your package is on hold, pay the $1.99 redelivery fee here: usps-redeliver.top/pay"
FRIENDLY = ["Thanks for dinner last night, see you on Saturday!", "Is the bike still available? I can pick it up tomorrow.", "Happy birthday, have a lovely day with your family"]


def test_shape_order_and_range() -> None:
    tier = FastTier.load()
    scores = tier.score(["hello", "", "a" * 5000, "🙂🙂🙂"])
    assert tier.labels == LABELS
    assert scores.shape == (4, 3)
    assert np.all((scores >= 0) & (scores <= 1))
    assert tier.score([]).shape == (0, 3)


def test_a_batch_scores_each_message_as_alone() -> None:
    tier = FastTier.load()
    together = tier.score([CRYPTO_SCAM, FRIENDLY[0]])
    assert np.allclose(together[0], tier.score([CRYPTO_SCAM])[0])
    assert np.allclose(together[1], tier.score([FRIENDLY[0]])[0])


def test_obvious_scams_score_above_the_threshold() -> None:
    tier = FastTier.load()
    spam = tier.labels.index("spam_scam")
    assert np.all(tier.score([CRYPTO_SCAM, PARCEL_SCAM])[:, spam] > 0.5)


def test_friendly_messages_score_below_the_threshold_on_every_label() -> None:
    assert np.all(FastTier.load().score(FRIENDLY) < 0.5)


def test_an_insult_is_offensive_with_or_without_evasion() -> None:
    tier = FastTier.load()
    offensive = tier.labels.index("offensive")
    scores = tier.score(["shut up you fucking idiot", "shut up you f.u.c.k.i.n.g 1d10t", "shut up you fυcking idiot"])[:, offensive]
    assert np.all(scores > 0.5)


def test_the_shipped_evaluation_sets_are_well_formed() -> None:
    languages = {example.extra["language"] for example in language_test_examples()}
    assert languages == {"en", "es", "pt"}
    assert len(dialect_pairs()) >= 50


def test_a_mention_is_read_as_nothing() -> None:
    tier = FastTier.load()
    replies = tier.score(["@someone @another see you at 7!", "@someone"])
    assert np.array_equal(replies, tier.score(["see you at 7!", ""]))
    assert np.all(replies < 0.5)


def test_insults_without_slurs_or_profanity_are_offensive_and_their_look_alikes_are_not() -> None:
    tier = FastTier.load()
    offensive = tier.labels.index("offensive")
    insults = tier.score(["@someone you are a spineless lying hypocrite", "this senator is a brainless clown", "shut up &#102;ool"])
    look_alikes = tier.score(["@someone you are a legend, thank you", "this senator is wrong about the budget", "that song is sick"])
    assert np.all(insults[:, offensive] > 0.5)
    assert np.all(look_alikes[:, offensive] < 0.5)
