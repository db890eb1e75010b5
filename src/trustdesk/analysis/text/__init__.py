"""Text classification: calibrated `offensive`, `hate` and `spam_scam` scores for messages.

`fast_tier.FastTier` scores every message (numpy only); `deep_tier.DeepTier` adds a sentence
embedding when the ``trustdesk[embeddings]`` extra is installed. Both read normalised text
(`normalise`), are trained by `training` from `corpus` and measured by `evaluation`.
docs/classifier.md has the figures, the data sources and how to retrain.
"""
