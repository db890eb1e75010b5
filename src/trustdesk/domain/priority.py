"""How urgent a case is: a score with its reasons, and the band (P0–P3) that sets its SLA.

    score = 20 × policy severity                         (20 … 100)
          + 8 × log10(1 + reach), at most 40              reach = max(followers, views, 10 × sales)
          + the most credible notifier                     trusted flagger +30 (DSA Art. 22);
                                                           other notifiers 40 × (trust − 0.5),
                                                           trust = (founded + 1) / (judged + 2);
                                                           a deprioritised notifier −30 (Art. 23);
                                                           anonymous notices count as neutral (0)
          + 10 × log2(1 + reports), at most 30
          + the strongest automated signal                 80 × (score − 0.5) for a score above the 0.5
                                                           decision threshold, a match (hash bank) 40
          + what live rules' route effects add             the largest, 0 … 200, with a band floor
    imminent harm (threat to life, self-harm, a child at risk) → band P0 and +1000.
    an escalation to a tier, by its urgency: low +0, normal +20, high +50 and at least band P1,
    critical +200 and band P0 (kept while the case sits at its tier, taken off when it comes back).

Bands: P0 imminent harm or severity 5; P1 score ≥ 110; P2 score ≥ 70; P3 below. The queue
orders by (score descending, due time ascending): age is carried by the due time, so "next
case" stays a single indexed query and nothing needs re-scoring as time passes. Every component
only grows with more reports (a maximum, or a count), so a case is re-scored from its stored
components and the new reports alone, however many reports it already has. New signals replace
the signals component (the subject's latest signals count, so changed content can lower it);
the band never becomes less urgent on re-scoring.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from trustdesk.domain.vocabulary import Urgency


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
    "escalation": "escalated to a tier: urgency normal +20, high +50 (at least P1), critical +200 (P0)",
    "signals": "the strongest automated signal: 80 × (score − 0.5) above the 0.5 threshold, a match +40",
    "rules": "the most a live rule's route effect adds (0–200 points), with the band it asks for at least",
}
SIGNAL_THRESHOLD = 0.5
SIGNAL_MATCH_POINTS = 40.0
ESCALATION_POINTS = {Urgency.LOW: 0.0, Urgency.NORMAL: 20.0, Urgency.HIGH: 50.0, Urgency.CRITICAL: 200.0}


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
    notifier_points: float = 0.0  # see notifier_points()
    imminent_harm: bool = False
    signal_points: float = 0.0  # see signal_points()


@dataclass(frozen=True)
class Priority:
    score: float
    band: Band
    reasons: dict[str, float] = field(default_factory=dict)


def reach_of(reach: dict[str, int]) -> int:
    return max(reach.get("followers", 0), reach.get("views", 0), 10 * reach.get("sales", 0), 0)


def notifier_points(notifiers: Iterable[NotifierStanding]) -> float:
    """The most credible notifier counts: one trusted flagger is enough to move a case up.
    Pass a neutral `NotifierStanding()` for an anonymous notice."""
    best: float | None = None
    for n in notifiers:
        points = 30.0 if n.trusted_flagger else (-30.0 if n.deprioritised else 40.0 * (n.trust - 0.5))
        best = points if best is None else max(best, points)
    return 0.0 if best is None else best


def signal_points(signals: Iterable[tuple[float | None, str | None]]) -> float:
    """Points for the strongest of (score, match) signals: nothing at or below the decision
    threshold, up to 40 for a score of 1; a match counts as the strongest evidence there is."""
    best = 0.0
    for value, match in signals:
        points = SIGNAL_MATCH_POINTS if match else 80.0 * max(0.0, (value or 0.0) - SIGNAL_THRESHOLD)
        best = max(best, points)
    return round(best, 2)


def severity_of(priority_reasons: dict[str, float]) -> int:
    """The severity behind a stored score (its severity component is 20 × severity)."""
    return round(priority_reasons.get("severity", 20.0) / 20)


def score(data: PriorityInput) -> Priority:
    reasons = {
        "severity": 20.0 * data.severity,
        "reach": min(40.0, 8.0 * math.log10(1 + max(0, data.reach))),
        "notifier": round(data.notifier_points, 2),
        "reports": min(30.0, 10.0 * math.log2(1 + max(1, data.report_count))),
    }
    if data.signal_points:
        reasons["signals"] = data.signal_points
    if data.imminent_harm:
        reasons["imminent_harm"] = IMMINENT_HARM_BOOST
    total = round(sum(reasons.values()), 2)
    band = Band.P0 if data.imminent_harm or data.severity >= 5 else _band_of(total)
    return Priority(total, band, {k: round(v, 2) for k, v in reasons.items()})


def _band_of(total: float) -> Band:
    if total >= 110:
        return Band.P1
    if total >= 70:
        return Band.P2
    return Band.P3


def with_signals(score_now: float, band: Band, reasons: dict[str, float], points: float) -> Priority:
    """A case re-scored for new signals: their points replace the earlier signals component;
    the band moves up when the new score earns it and never down."""
    total = round(score_now - reasons.get("signals", 0.0) + points, 2)
    rest = {k: v for k, v in reasons.items() if k != "signals"}
    return Priority(total, min(band, _band_of(total)), {**rest, "signals": points} if points else rest)


def with_rules(score_now: float, band: Band, reasons: dict[str, float], points: float, floor: Band | None) -> Priority:
    """A case a live rule routed: its points replace a smaller rules component (a later event
    never lowers what an earlier one asked for), and the band rises to `floor` if it is lower."""
    points = max(points, reasons.get("rules", 0.0))
    total = round(score_now - reasons.get("rules", 0.0) + points, 2)
    raised = min(band, _band_of(total), floor or band)
    return Priority(total, Band(raised), {**reasons, "rules": points} if points else dict(reasons))


# The most urgent band an escalation of this urgency puts its case in (no entry: the band stays).
_ESCALATION_BAND = {Urgency.HIGH: Band.P1, Urgency.CRITICAL: Band.P0}


def escalated(score_now: float, band: Band, reasons: dict[str, float], urgency: Urgency) -> Priority:
    """The priority of a case escalated with `urgency`, replacing any earlier escalation's points."""
    points = ESCALATION_POINTS[urgency]
    base = score_now - reasons.get("escalation", 0.0)
    floor = _ESCALATION_BAND.get(urgency)
    raised = min(band, floor) if floor else band  # "P0" < "P1": the more urgent band
    return Priority(round(base + points, 2), Band(raised), {**reasons, "escalation": points})


def de_escalated(score_now: float, band: Band, reasons: dict[str, float]) -> Priority:
    """The priority of a case back from its tier: the escalation's points come off; the band stays."""
    rest = {k: v for k, v in reasons.items() if k != "escalation"}
    return Priority(round(score_now - reasons.get("escalation", 0.0), 2), band, rest)


def carry_escalation(fresh: Priority, stored_reasons: dict[str, float]) -> Priority:
    """A case re-scored from its reports while at a tier keeps its escalation's points and band."""
    points = stored_reasons.get("escalation")
    urgency = next((u for u, p in ESCALATION_POINTS.items() if p == points), None)
    return fresh if urgency is None else escalated(fresh.score, fresh.band, fresh.reasons, urgency)
