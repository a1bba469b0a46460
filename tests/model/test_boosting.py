"""Booster fitting: Platt scaling, the fit modes, truncation; and the model's state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from organo_predict import OrganotropismModel
from organo_predict._model._boosting import IDENTITY, platt, truncate_booster

from .test_models import _model, _panel_era_cohort


def test_platt_recovers_the_slope_and_intercept_that_generated_the_labels() -> None:
    rng = np.random.default_rng(0)
    score = rng.normal(0, 2, 200_000)
    y = (rng.random(len(score)) < 1 / (1 + np.exp(-(0.5 * score - 1.0)))).astype(float)
    slope, intercept = platt(score, y)
    assert slope == pytest.approx(0.5, abs=0.01) and intercept == pytest.approx(-1.0, abs=0.02)


def test_rounds_train_every_row_for_exactly_that_many_trees_uncalibrated() -> None:
    x, y, *_ = _panel_era_cohort()
    model = _model(rounds={"LIVER": 7}).fit(x, y)
    fit = model.fits_["LIVER"]
    assert fit.booster.current_iteration() == 7 and fit.best_iteration == 7
    assert fit.calibration == IDENTITY and fit.valid_loss is None


def test_a_held_out_fit_records_the_loss_of_every_round() -> None:
    x, y, *_ = _panel_era_cohort()
    half = len(x) // 2
    model = OrganotropismModel(organs=["LIVER"], categorical=("cancer_type", "subtype"),
                               min_positives=10, n_estimators=40, early_stopping_rounds=0).fit(
        x.iloc[:half], y.iloc[:half], eval_set=(x.iloc[half:], y.iloc[half:]))
    fit = model.fits_["LIVER"]
    assert len(fit.valid_loss) == 40 == fit.booster.current_iteration()
    assert fit.best_iteration == int(np.argmin(fit.valid_loss)) + 1


def test_truncation_keeps_the_first_trees() -> None:
    x, y, *_ = _panel_era_cohort()
    booster = _model(rounds={"LIVER": 9}).fit(x, y).fits_["LIVER"].booster
    short = truncate_booster(booster, 4)
    data = x.to_numpy(np.float32)
    np.testing.assert_array_equal(short.predict(data, raw_score=True),
                                  booster.predict(data, raw_score=True, num_iteration=4))


def test_the_state_is_json_and_gives_back_the_same_model() -> None:
    x, y, *_ = _panel_era_cohort()
    model = _model().fit(x, y)
    state, boosters = model.to_state()
    state = json.loads(json.dumps(state))  # what a bundle writes and reads
    again = OrganotropismModel.from_state(state, boosters)
    assert again.get_params() == {**model.get_params(),
                                  **{k: list(v) for k, v in model.get_params().items()
                                     if isinstance(v, tuple)}}
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(again.prior_proba(x), model.prior_proba(x))
    assert set(boosters) == {f"boosters/{o}.txt" for o, f in model.fits_.items() if f.booster}
