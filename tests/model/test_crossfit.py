"""The cross-validation that fits the model: rounds chosen from the other folds, final trees
on every row, calibration on out-of-fold scores."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from organo_predict import OrganotropismModel
from organo_predict._model._crossfit import balanced_groups, choose_rounds, cross_fit

ORGANS = ["LIVER", "LUNG"]


def test_a_folds_rounds_come_from_the_other_folds_curves_only() -> None:
    u = np.array([3.0, 2.0, 1.0, 2.0, 3.0])  # best after 3 rounds
    late = np.array([3.0, 2.5, 2.0, 1.5, 1.0, 0.5])  # best after 6 rounds
    per_fold, final = choose_rounds([late, u, u])
    assert per_fold == [3, 3, 3]  # fold 0 never sees its own late minimum
    assert final == 3  # the mean of all three, over the 5 rounds every fold recorded
    assert choose_rounds([late, late, late])[0] == [6, 6, 6]
    assert choose_rounds([u, None, u]) == ([0, 0, 0], 0)  # a fold without a booster


def test_organ_groups_keep_the_order_and_balance_the_cost() -> None:
    cost = {"LIVER": 300.0, "LUNG": 280.0, "BONE": 250.0, "PLEURA": 80.0, "SKIN": 20.0}
    groups = balanced_groups(cost, 2)
    assert [o for g in groups for o in g] == list(cost)
    assert groups == [["LIVER", "LUNG"], ["BONE", "PLEURA", "SKIN"]]
    assert balanced_groups(cost, 9) == [[o] for o in cost]
    assert balanced_groups(cost, 1) == [list(cost)]


def _cohort(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame((rng.random((n, 8)) < 0.2).astype(np.float32),
                     columns=[f"mut_G{i}" for i in range(8)])
    x["cancer_type"] = rng.integers(0, 3, n).astype(np.float32)
    x["subtype"] = x["cancer_type"]
    logit = -1.0 + 0.3 * x["cancer_type"]
    y = pd.DataFrame({
        "LIVER": rng.random(n) < 1 / (1 + np.exp(-(logit + 1.2 * x["mut_G0"]
                                                   - 0.8 * x["mut_G1"]))),
        "LUNG": rng.random(n) < 1 / (1 + np.exp(-(logit + 0.9 * x["mut_G2"]))),
    }).astype(float)
    return x, y


def test_the_final_model_trains_every_row_for_the_chosen_rounds_calibrated_out_of_fold(
        ) -> None:
    x, y = _cohort()
    settings = {"categorical": ("cancer_type", "subtype"), "min_positives": 10,
                "n_estimators": 300, "learning_rate": 0.1, "early_stopping_rounds": 30,
                "n_jobs": 1}
    make = partial(OrganotropismModel, organs=ORGANS, **settings)
    clinical = partial(OrganotropismModel, organs=ORGANS, use_prior=False,
                       features=["cancer_type", "subtype"], **settings)
    folds = [(np.flatnonzero(np.arange(len(x)) % 3 != k), np.flatnonzero(np.arange(len(x)) % 3 == k))
             for k in range(3)]
    said: list[str] = []
    fitted = cross_fit(make, clinical, x, y, folds, log=said.append)
    assert len(said) == 3 and fitted.final.rounds == fitted.rounds
    for organ in ORGANS:
        fit = fitted.final.fits_[organ]
        assert fit.booster.current_iteration() == fitted.rounds[organ] > 1
        # the fold models keep the rounds chosen for them, from the other folds
        assert [m.fits_[organ].booster.current_iteration()
                for m in fitted.fold_models] == fitted.fold_rounds[organ]
    assert not np.isnan(fitted.oof_model).any() and not np.isnan(fitted.oof_clinical).any()
    # out-of-fold probabilities are the fold models' on their held-out rows
    for model, (_, test) in zip(fitted.fold_models, folds, strict=True):
        np.testing.assert_allclose(model.predict_proba(x.iloc[test]).to_numpy(),
                                   fitted.oof_model[test])
    # calibrated out of fold: the mean prediction matches the rate
    np.testing.assert_allclose(fitted.oof_model.mean(0), y.mean(0).to_numpy(), atol=0.01)
    assert fitted.final.decision_function(x).shape == (len(x), 2)
