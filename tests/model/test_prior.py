"""The subtype prior and the logistic arithmetic: shrinkage, fallbacks, the calibration fit."""

from __future__ import annotations

import numpy as np
import pytest

from organo_predict._model._prior import SubtypePrior, fit_logistic_on_logit, logit, sigmoid


def test_subtype_rates_shrink_to_their_cancer_type_and_unknowns_fall_back() -> None:
    cancer_type = np.array([0.0] * 100 + [1.0] * 100)
    subtype = np.array([0.0] * 10 + [1.0] * 90 + [2.0] * 100)
    y = np.zeros((200, 1))
    y[:10] = 1.0  # subtype 0: all positive, but only 10 patients
    prior = SubtypePrior(strength=20.0).fit(cancer_type, subtype, y)
    rates = prior.predict(np.array([0.0, 0.0, 1.0, 5.0, np.nan]),
                          np.array([0.0, 1.0, 2.0, 0.0, np.nan]))[:, 0]
    type_rate = (10 + 20 * 0.05) / (100 + 20)
    assert rates[0] == pytest.approx((10 + 20 * type_rate) / (10 + 20))  # shrunk, not 1.0
    assert rates[3] == rates[4] == pytest.approx(0.05)  # unknown type: the overall rate
    many = prior.predict(np.repeat([0.0, 5.0], 20), np.repeat([0.0, 0.0], 20))[:, 0]
    assert many[0] == pytest.approx(rates[0]) and many[-1] == pytest.approx(0.05)


def test_logit_and_sigmoid_are_inverse_and_clipped() -> None:
    p = np.array([0.0, 0.2, 0.5, 1.0])
    assert np.isfinite(logit(p)).all()
    np.testing.assert_allclose(sigmoid(logit(p[1:3])), p[1:3])


def test_the_logistic_fit_recovers_slope_and_intercept() -> None:
    rng = np.random.default_rng(0)
    score = rng.normal(0, 2, 50_000)
    y = (rng.random(50_000) < sigmoid(0.5 * score - 1.0)).astype(float)
    slope, intercept = fit_logistic_on_logit(score, y)
    assert slope == pytest.approx(0.5, abs=0.03) and intercept == pytest.approx(-1.0, abs=0.05)


def test_priors_fitted_organ_by_organ_stack_into_the_prior_of_all_organs() -> None:
    from organo_predict import ModelError

    rng = np.random.default_rng(0)
    cancer_type = rng.integers(0, 4, 500).astype(float)
    subtype = cancer_type * 3 + rng.integers(0, 3, 500)
    y = (rng.random((500, 3)) < 0.3).astype(float)
    y[:9, 2] = np.nan
    whole = SubtypePrior().fit(cancer_type, subtype, y)
    stacked = SubtypePrior.stack([SubtypePrior().fit(cancer_type, subtype, y[:, [j]])
                                  for j in range(3)])
    np.testing.assert_array_equal(whole.predict(cancer_type, subtype),
                                  stacked.predict(cancer_type, subtype))
    fewer = cancer_type != 3  # rows without a cancer type the others have
    other_rows = SubtypePrior().fit(cancer_type[fewer], subtype[fewer], y[fewer, :1])
    with pytest.raises(ModelError, match="do not stack"):
        SubtypePrior.stack([whole, other_rows])


def test_a_logistic_fit_is_one_calibration_type_slope_first() -> None:
    """Platt calibration, the calibration slope and `recalibrate`'s update share one named
    pair (the intercept-first tuple of the update used to read backwards against Platt's)."""
    import numpy as np

    from organo_predict._model._prior import Calibration, fit_logistic_on_logit

    rng = np.random.default_rng(0)
    score = rng.normal(0, 1, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-(0.5 + 2.0 * score)))).astype(float)
    fitted = fit_logistic_on_logit(score, y)
    assert isinstance(fitted, Calibration) and fitted == (fitted.slope, fitted.intercept)
    assert abs(fitted.slope - 2.0) < 0.15 and abs(fitted.intercept - 0.5) < 0.1


def test_the_prior_s_state_is_json_and_predicts_the_same() -> None:
    import json

    rng = np.random.default_rng(1)
    cancer_type = rng.integers(0, 4, 500).astype(float)
    subtype = rng.integers(0, 3, 500).astype(float)
    y = (rng.random((500, 2)) < 0.3).astype(float)
    prior = SubtypePrior(7.0).fit(cancer_type, subtype, y)
    again = SubtypePrior.from_state(json.loads(json.dumps(prior.to_state())))
    codes = np.array([0.0, 1.0, 3.0, 9.0, np.nan])  # seen, seen, seen, unseen, unknown
    np.testing.assert_array_equal(again.predict(codes, np.array([0.0, 2.0, 1.0, 0.0, 0.0])),
                                  prior.predict(codes, np.array([0.0, 2.0, 1.0, 0.0, 0.0])))
    assert again.strength == 7.0
