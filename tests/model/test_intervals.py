"""Venn-ABERS intervals: the out-of-fold check passes for calibrated probabilities and fails
for miscalibrated ones; Mondrian by cancer type is what keeps them honest within type."""

import json

import numpy as np
import pandas as pd

from organo_predict import ProbabilityIntervals, check_intervals
from organo_predict._model._intervals import cross_fitted_intervals


def _cohort(n: int = 6000, seed: int = 0, type_shift: float = 0.0):
    """Two cancer types, probabilities p and labels drawn from them; with `type_shift` the
    true log-odds of type 0 are p's minus it and type 1's plus it (calibrated on average,
    miscalibrated within each type)."""
    rng = np.random.default_rng(seed)
    codes = (np.arange(n) % 2).astype(float)
    p = rng.beta(2, 5, n)
    log_odds = np.log(p / (1 - p)) + np.where(codes == 0, -type_shift, type_shift)
    y = rng.random(n) < 1 / (1 + np.exp(-log_odds))
    folds = np.array_split(rng.permutation(n), 5)
    return (pd.DataFrame({"LIVER": p}), pd.DataFrame({"LIVER": y.astype(float)}), codes,
            folds)


def _checks(p, low, high, y, codes):
    labels = y["LIVER"].to_numpy() == 1
    out = [check_intervals(p["LIVER"], low["LIVER"], high["LIVER"], labels)]
    for code in (0.0, 1.0):
        rows = codes == code
        out.append(check_intervals(p["LIVER"][rows], low["LIVER"][rows],
                                   high["LIVER"][rows], labels[rows]))
    return out


def test_the_check_passes_for_calibrated_probabilities_out_of_fold():
    p, y, codes, folds = _cohort()
    low, high = cross_fitted_intervals(p, y, codes, folds)
    checks = _checks(p, low, high, y, codes)
    assert all(c.passed for c in checks), [c.to_dict() for c in checks]
    assert all(0 < c.mean_width < 0.1 for c in checks)  # an answer, not [0, 1]
    assert (low["LIVER"] <= high["LIVER"]).all()


def test_the_check_fails_for_deliberately_miscalibrated_intervals():
    p, y, codes, folds = _cohort()
    low, high = cross_fitted_intervals(p, y, codes, folds)
    shifted = (low + 0.08).clip(upper=1), (high + 0.08).clip(upper=1)  # 8 points too high
    assert not _checks(p, *shifted, y, codes)[0].passed


def test_mondrian_by_cancer_type_is_honest_within_type_where_pooled_is_not():
    p, y, codes, folds = _cohort(type_shift=0.8)
    pooled = cross_fitted_intervals(p, y, codes, folds, min_patients=10**9)
    by_type = cross_fitted_intervals(p, y, codes, folds)
    pooled_checks = _checks(p, *pooled, y, codes)
    type_checks = _checks(p, *by_type, y, codes)
    assert not any(c.passed for c in pooled_checks[1:])  # each type is off, in opposite ways
    assert all(c.passed for c in type_checks), [c.to_dict() for c in type_checks]


def test_small_types_and_unknown_types_use_the_pooled_predictor():
    p, y, codes, _ = _cohort(n=3000)
    codes = codes.copy()
    codes[:100] = 7.0  # 100 patients: under min_patients
    fitted = ProbabilityIntervals(min_patients=200).fit(p, y, codes)
    assert "7" not in fitted.tables_["LIVER"]  # too small: pooled
    assert {"pooled", "1"} <= set(fitted.tables_["LIVER"])  # a type of its own
    low, high = fitted.predict(p.iloc[:3], np.array([7.0, np.nan, 1.0]))
    pooled_low, _ = ProbabilityIntervals(min_patients=10**9).fit(p, y, codes).predict(
        p.iloc[:2], np.array([np.nan, np.nan]))
    assert low["LIVER"].iloc[:2].tolist() == pooled_low["LIVER"].tolist()


def test_state_round_trips_through_json_with_identical_intervals():
    p, y, codes, _ = _cohort(n=2000)
    fitted = ProbabilityIntervals().fit(p, y, codes)
    back = ProbabilityIntervals.from_state(json.loads(json.dumps(fitted.to_state())))
    for a, b in zip(fitted.predict(p, codes), back.predict(p, codes), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_an_organ_with_one_outcome_has_no_interval():
    p, _, codes, _ = _cohort(n=500)
    fitted = ProbabilityIntervals().fit(p, pd.DataFrame({"LIVER": np.zeros(500)}), codes)
    low, high = fitted.predict(p, codes)
    assert low["LIVER"].isna().all() and high["LIVER"].isna().all()


def test_fitting_leaves_numpys_error_state_as_it_was():
    before = np.geterr()
    p, y, codes, _ = _cohort(n=500)
    ProbabilityIntervals().fit(p, y, codes)
    assert np.geterr() == before  # venn-abers switches warnings off at import


def test_the_model_gives_each_probability_its_interval(with_intervals, luad_model):
    _, model, x = with_intervals
    assert getattr(luad_model[1], "intervals_", None) is None  # with_intervals is a copy
    low, high = model.predict_interval(x.iloc[:50])
    proba = model.predict_proba(x.iloc[:50])
    assert list(low.columns) == list(proba.columns)
    assert ((low <= high) & (low >= 0) & (high <= 1)).all().all()
    # the interval brackets the probability up to the isotonic steps: within a few points
    assert (((proba - high).clip(lower=0) + (low - proba).clip(lower=0)) < 0.15).all().all()
    assert luad_model[1].predict_interval(x.iloc[:5]) is None
