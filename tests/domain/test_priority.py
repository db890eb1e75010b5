"""The priority score: documented components, bands, and monotone in what should raise it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trustdesk.domain.priority import (
    EXPLANATIONS,
    Band,
    NotifierStanding,
    PriorityInput,
    notifier_points,
    reach_of,
    score,
    severity_of,
    signal_points,
    with_signals,
)


def test_components_follow_the_documented_formula() -> None:
    p = score(PriorityInput(severity=3, reach=999, report_count=3, notifier_points=notifier_points([NotifierStanding(trusted_flagger=True)])))
    assert p.reasons == {"severity": 60.0, "reach": 24.0, "notifier": 30.0, "reports": 20.0}
    assert p.score == 134.0 and p.band == Band.P1


def test_bands() -> None:
    assert score(PriorityInput(severity=5)).band == Band.P0
    assert score(PriorityInput(severity=1, imminent_harm=True)).band == Band.P0
    assert score(PriorityInput(severity=3)).band == Band.P2
    assert score(PriorityInput(severity=1)).band == Band.P3


def test_the_most_credible_notifier_counts_and_deprioritised_ones_lose_points() -> None:
    liar = NotifierStanding(founded=0, unfounded=18)
    assert round(liar.trust, 2) == 0.05
    assert notifier_points([liar]) == -18.0
    assert notifier_points([liar, NotifierStanding(trusted_flagger=True)]) == 30.0
    assert notifier_points([NotifierStanding(deprioritised=True)]) == -30.0
    assert notifier_points([NotifierStanding(deprioritised=True), NotifierStanding()]) == 0.0  # an anonymous notice is neutral
    assert notifier_points([]) == 0.0


def test_the_stored_severity_component_gives_the_severity_back() -> None:
    for severity in range(1, 6):
        assert severity_of(score(PriorityInput(severity=severity)).reasons) == severity


def test_reach_takes_the_largest_signal_with_sales_weighted() -> None:
    assert reach_of({"followers": 10, "views": 50, "sales": 7}) == 70
    assert reach_of({}) == 0


@given(st.integers(1, 5), st.integers(0, 10**9), st.integers(1, 1000), st.integers(0, 10**9), st.integers(0, 1000))
def test_more_severity_reach_or_reports_never_lowers_the_score(severity: int, reach: int, reports: int, more_reach: int, more_reports: int) -> None:
    base = score(PriorityInput(severity=severity, reach=reach, report_count=reports))
    assert score(PriorityInput(severity=min(5, severity + 1), reach=reach, report_count=reports)).score >= base.score
    assert score(PriorityInput(severity=severity, reach=reach + more_reach, report_count=reports)).score >= base.score
    assert score(PriorityInput(severity=severity, reach=reach, report_count=reports + more_reports)).score >= base.score
    assert score(PriorityInput(severity=severity, reach=reach, report_count=reports, imminent_harm=True)).score > base.score + 999


def test_signals_count_above_the_threshold_and_a_match_counts_most() -> None:
    assert signal_points([]) == 0.0
    assert signal_points([(0.5, None), (0.2, None)]) == 0.0
    assert signal_points([(0.75, None), (0.9, None)]) == 32.0  # the strongest: 80 × (0.9 − 0.5)
    assert signal_points([(None, "bank:csam#12"), (1.0, None)]) == 40.0
    p = score(PriorityInput(severity=3, signal_points=32.0))
    assert p.reasons["signals"] == 32.0 and p.score == 60 + 10 + 32 and "signals" in EXPLANATIONS


def test_new_signals_replace_the_component_and_the_band_never_drops() -> None:
    start = score(PriorityInput(severity=3))  # 60 + 10 for one report: P2
    raised = with_signals(start.score, start.band, start.reasons, 40.0)
    assert (raised.score, raised.band, raised.reasons["signals"]) == (110.0, Band.P1, 40.0)
    lowered = with_signals(raised.score, raised.band, raised.reasons, 0.0)
    assert (lowered.score, lowered.band, "signals" in lowered.reasons) == (70.0, Band.P1, False)
    p0 = score(PriorityInput(severity=5))
    assert with_signals(p0.score, p0.band, p0.reasons, 40.0).band == Band.P0
