"""How urgent a case is: a score with its reasons, and the band (P0–P3) that sets its SLA.

    score = 20 × policy severity                         (20 … 100)
          + 8 × log10(1 + reach), at most 40              reach = max(followers, views, 10 × sales)
          + reporter trust                                 trusted flagger +30 (DSA Art. 22);
                                                           other notifiers 40 × (trust − 0.5),
                                                           trust = (founded + 1) / (judged + 2);
                                                           a deprioritised notifier −30 (Art. 23)
          + 10 × log2(1 + reports), at most 30
    imminent harm (threat to life, self-harm, a child at risk) → band P0 and +1000.

Bands: P0 imminent harm or severity 5; P1 score ≥ 110; P2 score ≥ 70; P3 below. The queue
orders by (score descending, due time ascending): age is carried by the due time, so "next
case" stays a single indexed query and nothing needs re-scoring as time passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class Band(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


IMMINENT_HARM_BOOST = 1000.0
# What each component of the score means, for "why this priority" in the console.
EXPLANATIONS = {
    "severity": "20 × the policy's severity (1–5)",
    "reach": "8 × log10(1 + audience), at most 40",
    "notifier": "the most credible reporter: trusted flagger +30, others by their track record, deprioritised −30",
    "reports": "10 × log2(1 + number of reports), at most 30",
    "imminent_harm": "imminent harm: +1000 and band P0",
}


@dataclass(frozen=True)
class NotifierStanding:
    """What past decisions say about a notifier's reports."""

    trusted_flagger: bool = False
    founded: int = 0
    unfounded: int = 0
    deprioritised: bool = False
    # Art. 23(2) suspension: the notice is recorded but not queued for review.
    suspended: bool = False

    @property
    def trust(self) -> float:
        return (self.founded + 1) / (self.founded + self.unfounded + 2)


@dataclass(frozen=True)
class PriorityInput:
    severity: int
    reach: int = 0
    report_count: int = 1
    notifiers: tuple[NotifierStanding, ...] = ()
    imminent_harm: bool = False


@dataclass(frozen=True)
class Priority:
    score: float
    band: Band
    reasons: dict[str, float] = field(default_factory=dict)


def reach_of(reach: dict[str, int]) -> int:
    return max(reach.get("followers", 0), reach.get("views", 0), 10 * reach.get("sales", 0), 0)


def _notifier_points(notifiers: tuple[NotifierStanding, ...]) -> float:
    """The most credible notifier counts: one trusted flagger is enough to move a case up."""
    if not notifiers:
        return 0.0
    best = -30.0
    for n in notifiers:
        points = 30.0 if n.trusted_flagger else (-30.0 if n.deprioritised else 40.0 * (n.trust - 0.5))
        best = max(best, points)
    return best


def score(data: PriorityInput) -> Priority:
    reasons = {
        "severity": 20.0 * data.severity,
        "reach": min(40.0, 8.0 * math.log10(1 + max(0, data.reach))),
        "notifier": _notifier_points(data.notifiers),
        "reports": min(30.0, 10.0 * math.log2(1 + max(1, data.report_count))),
    }
    if data.imminent_harm:
        reasons["imminent_harm"] = IMMINENT_HARM_BOOST
    total = round(sum(reasons.values()), 2)
    if data.imminent_harm or data.severity >= 5:
        band = Band.P0
    elif total >= 110:
        band = Band.P1
    elif total >= 70:
        band = Band.P2
    else:
        band = Band.P3
    return Priority(total, band, {k: round(v, 2) for k, v in reasons.items()})
