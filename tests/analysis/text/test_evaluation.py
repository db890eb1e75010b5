"""Evaluation maths against values worked out by hand, and the Platt fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trustdesk.analysis.text.calibration import expected_calibration_error, fit_platt
from trustdesk.analysis.text.evaluation import at_threshold, evaluate, roc_auc

# 4 positives, 4 negatives. At 0.5: TP = 3 (0.9, 0.8, 0.6), FN = 1 (0.3), FP = 1 (0.7), TN = 3.
SCORES = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1])
LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])


def test_precision_recall_and_macro_f1_by_hand() -> None:
    row = at_threshold(SCORES, LABELS, 0.5)
    assert row.precision == pytest.approx(3 / 4)
    assert row.recall == pytest.approx(3 / 4)
    assert row.f1 == pytest.approx(3 / 4)
    # the negative class: precision 3/4, recall 3/4 -> F1 3/4; macro = 3/4
    assert row.macro_f1 == pytest.approx(3 / 4)
    assert row.flagged == pytest.approx(4 / 8)


def test_uneven_classes_macro_f1_by_hand() -> None:
    # TP 1, FP 2, FN 0, TN 1: positive F1 = 2*(1/3)*1/(4/3) = 0.5; negative P=1, R=1/3 -> F1 0.5
    row = at_threshold(np.array([0.9, 0.8, 0.7, 0.1]), np.array([1, 0, 0, 0]), 0.5)
    assert (row.precision, row.recall, row.f1) == pytest.approx((1 / 3, 1.0, 0.5))
    assert row.macro_f1 == pytest.approx(0.5)


def test_roc_auc_counts_pairs_and_half_ties() -> None:
    # 16 positive/negative pairs; the positive wins all but (0.6 vs 0.7), (0.3 vs 0.7), (0.3 vs 0.4): 13/16
    assert roc_auc(SCORES, LABELS) == pytest.approx(13 / 16)
    assert roc_auc(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.5)
    assert math.isnan(roc_auc(np.array([0.2, 0.3]), np.array([1, 1])))


def test_expected_calibration_error_by_hand() -> None:
    # bin [0.8, 0.9): two scores 0.8, one positive -> |1.6 - 1| ; bin [0.2, 0.3): 0.2, 0.2 both negative -> 0.4
    scores = np.array([0.8, 0.8, 0.2, 0.2])
    labels = np.array([1, 0, 0, 0])
    assert expected_calibration_error(scores, labels) == pytest.approx((0.6 + 0.4) / 4)


def test_threshold_table_and_default_row() -> None:
    result = evaluate(SCORES, LABELS)
    assert [row.threshold for row in result.table] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert result.at_default == at_threshold(SCORES, LABELS, 0.5)
    assert (result.count, result.positives) == (8, 4)


def test_platt_recovers_a_known_sigmoid() -> None:
    rng = np.random.default_rng(3)
    margins = rng.normal(0, 3, 20_000)
    labels = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 * margins - 1.0)))).astype(int)
    platt = fit_platt(margins, labels)
    assert platt.slope == pytest.approx(0.5, abs=0.05)
    assert platt.intercept == pytest.approx(-1.0, abs=0.1)
    assert expected_calibration_error(platt.apply(margins), labels) < 0.02
