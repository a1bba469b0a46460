"""Decision curves: net benefit by hand, the stated threshold range, model against prior."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import decision_curve, net_benefit
from organo_predict._evaluate._decision_curves import (
    ODDS_FACTOR,
    decision_curve_metrics,
    threshold_range,
)


def test_net_benefit_is_true_positives_less_weighted_false_positives() -> None:
    """Four patients worked by hand: at 50% two are treated (one with the outcome), so
    1/4 - 1/4 x 1 = 0; at 20% three (two with it): 2/4 - 1/4 x 0.25 = 0.4375."""
    labels = np.array([1, 1, 0, 0], bool)
    p = np.array([0.9, 0.4, 0.6, 0.1])
    assert net_benefit(labels, p, np.array([0.5, 0.2])) == pytest.approx([0.0, 0.4375])
    # a threshold equal to a probability treats that patient (dcurves' >=)
    assert net_benefit(labels, p, np.array([0.4]))[0] == pytest.approx(
        2 / 4 - 1 / 4 * (0.4 / 0.6))


def test_weighted_curves_are_curves_of_the_repeated_rows() -> None:
    rng = np.random.default_rng(0)
    labels, p = rng.random(200) < 0.3, rng.random(200)
    thresholds = threshold_range(0.3)
    counts = rng.poisson(1.0, size=(3, 200))
    weighted = net_benefit(labels, p, thresholds, counts)
    for row, c in zip(weighted, counts, strict=True):
        repeated = np.repeat(np.arange(200), c)
        assert row == pytest.approx(net_benefit(labels[repeated], p[repeated], thresholds))
    assert net_benefit(labels, p, thresholds, np.ones((1, 200)))[0] == pytest.approx(
        net_benefit(labels, p, thresholds))


def test_the_range_spans_the_stated_odds_around_the_observed_rate() -> None:
    t = threshold_range(0.2)
    odds = t / (1 - t)
    assert odds[0] == pytest.approx(0.25 / ODDS_FACTOR) and odds[-1] == pytest.approx(
        0.25 * ODDS_FACTOR)
    assert np.all(np.diff(t) > 0) and odds[len(t) // 2] == pytest.approx(0.25)
    assert threshold_range(0.002)[0] == 0.01 and threshold_range(0.95)[-1] == 0.80


def test_an_informative_model_beats_the_prior_and_the_prior_ties_itself() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    prior = np.full(n, 0.3)
    risk = 1 / (1 + np.exp(-(np.log(0.3 / 0.7) + rng.normal(0, 1.2, n))))
    labels = rng.random(n) < risk
    curve = decision_curve("pooled", labels, risk, prior)
    assert curve.gain_over_prior > 0 and curve.gain_over_prior_ci[0] > 0
    assert curve.share_best > 0.8
    # treat-all at the observed rate is worth nothing, as treat-none
    middle = len(curve.thresholds) // 2
    assert curve.treat_all[middle] == pytest.approx(0, abs=0.01)
    tie = decision_curve("pooled", labels, prior, prior)
    assert tie.gain_over_prior == 0 and tie.gain_over_prior_ci == (0.0, 0.0)


def test_metrics_give_the_pooled_curve_and_only_types_with_enough_of_each_outcome() -> None:
    rng = np.random.default_rng(2)
    n = 600
    kind = np.where(np.arange(n) < 560, "big", "small")
    y = pd.DataFrame({"LIVER": (rng.random(n) < 0.3).astype(float), "LUNG": np.nan})
    y.loc[:9, "LIVER"] = np.nan  # unlabelled rows are left out
    p = rng.random((n, 2))
    out = decision_curve_metrics(y, p, np.full((n, 2), 0.3), kind, ["LIVER", "LUNG"],
                                 ["big", "small"], n_boot=20)
    assert set(out["organs"]) == {"LIVER"}  # LUNG has no labels
    assert set(out["organs"]["LIVER"]) == {"pooled", "big"}  # "small": under 20 positives
    assert out["organs"]["LIVER"]["pooled"]["n"] == n - 10
    assert "odds" in out["range"] and out["types"] == ["big", "small"]
