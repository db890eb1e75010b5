"""A small labelled fixture that a model can learn in a second."""

from __future__ import annotations

import itertools

import pytest

from trustdesk.analysis.text.corpus import Example

_INSULTS = ["you are a stupid idiot", "shut up you moron", "what a pathetic loser", "go to hell idiot", "you dumb clown"]
_HATE = ["those immigrants are vermin", "immigrants are animals and vermin", "send the vermin immigrants back"]
_SCAMS = ["send bitcoin to double your money", "pay the parcel fee at bit.ly/fee now", "move to telegram and invest in crypto", "buy gift cards and send the codes"]
_BENIGN = ["see you at lunch tomorrow", "thanks for the lovely dinner", "the parcel arrived, thank you", "happy birthday my friend", "the train is late again"]


def _examples() -> list[Example]:
    rows = []
    for number, (a, b) in enumerate(itertools.product(range(12), range(4))):
        suffix = f" {a} {b}"
        rows.append(Example(_INSULTS[number % 5] + suffix, {"offensive": 1, "hate": 0, "spam_scam": 0}))
        rows.append(Example(_HATE[number % 3] + suffix, {"offensive": 1, "hate": 1, "spam_scam": 0}))
        rows.append(Example(_SCAMS[number % 4] + suffix, {"offensive": 0, "hate": 0, "spam_scam": 1}))
        rows.append(Example(_BENIGN[number % 5] + suffix, {"offensive": 0, "hate": 0, "spam_scam": 0}))
    return rows


@pytest.fixture(scope="session")
def fixture_examples() -> list[Example]:
    return _examples()
