"""Fidelity: observed against predicted contrasts, the pooled ratio, the residual slope; and
a planted type-specific effect that the old fitting shrinks and the cross-validated one
recovers in part, and more with flag x cancer-type columns offered to the trees."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from organo_predict import OrganotropismModel
from organo_predict._evaluate._fidelity import Contrast, measure_fidelity, residual_slope
from organo_predict._model._crossfit import cross_fit


def _contrast(label: np.ndarray, predicted: np.ndarray, carrier: np.ndarray,
              rows: np.ndarray | None = None, strata: np.ndarray | None = None) -> Contrast:
    n = len(label)
    return Contrast("M_A_LIVER", "LIVER", 1, np.ones(n, bool) if rows is None else rows,
                    carrier, np.zeros(n, int) if strata is None else strata, label, predicted,
                    True)


def test_predictions_that_reproduce_the_contrast_have_ratio_one_and_halved_ones_half() -> None:
    rng = np.random.default_rng(0)
    carrier = rng.random(4000) < 0.3
    p = np.where(carrier, 0.5, 0.3)
    label = (rng.random(4000) < p).astype(float)
    observed = label[carrier].mean() - label[~carrier].mean()
    exact = measure_fidelity([_contrast(label, np.where(carrier, label[carrier].mean(),
                                                        label[~carrier].mean()), carrier)],
                             {}, "test", n_bootstrap=100)
    assert abs(exact.pooled_ratio - 1) < 1e-9 and exact.entries[0].observed == observed
    shrunk = np.where(carrier, label[~carrier].mean() + observed / 2, label[~carrier].mean())
    half = measure_fidelity([_contrast(label, shrunk, carrier)], {}, "test", n_bootstrap=200)
    assert abs(half.pooled_ratio - 0.5) < 1e-9
    low, high = half.pooled_ratio_ci
    assert low < 0.5 < high and high - low < 0.5


def test_strata_weights_follow_mantel_haenszel() -> None:
    # two strata with opposite base rates: the contrast is within stratum, not pooled
    strata = np.repeat([0, 1], 1000)
    carrier = np.tile(np.arange(1000) < 500, 2)
    label = np.where(strata == 1, 0.8, 0.2) + np.where(carrier, 0.1, 0.0)
    fidelity = measure_fidelity([_contrast(label, label, carrier, strata=strata)], {}, "t",
                                n_bootstrap=0)
    assert abs(fidelity.entries[0].observed - 0.1) < 1e-12


def test_the_residual_slope_is_one_for_true_risks_and_above_one_for_timid_ones() -> None:
    rng = np.random.default_rng(1)
    n = 20000
    types = rng.integers(0, 4, n)
    prior_logit = -1.0 + 0.5 * types
    genomic = rng.normal(0, 0.8, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(prior_logit + genomic)))).astype(float)
    prior = 1 / (1 + np.exp(-prior_logit))
    true = 1 / (1 + np.exp(-(prior_logit + genomic)))
    timid = 1 / (1 + np.exp(-(prior_logit + 0.5 * genomic)))
    assert abs(residual_slope(y, true, prior, types) - 1) < 0.1
    assert abs(residual_slope(y, timid, prior, types) - 2) < 0.2



def test_the_residual_slope_is_the_exact_maximum_likelihood_fit() -> None:
    """Many cancer types of different sizes, one with no positive at all: the slope is the
    likelihood's optimum to 1e-6 (scipy at a tight tolerance), not an early stop (lbfgs at
    its default tolerance was 0.012 off on MSK-MET's adrenal gland)."""
    import warnings

    from scipy.optimize import minimize
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(3)
    n = 6000
    types = np.minimum(rng.geometric(0.12, n), 40)
    offset = rng.normal(0, 1.5, 41)[types]
    prior_logit = -1.5 + 0.3 * np.sin(types) + 0.4 * rng.integers(0, 2, n)  # by subtype
    genomic = rng.normal(0, 0.7, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(offset + prior_logit + 1.3 * genomic)))).astype(float)
    y[types == 40] = 0.0  # a type with no positives: its intercept is at minus infinity
    prior = 1 / (1 + np.exp(-prior_logit))
    p = 1 / (1 + np.exp(-(prior_logit + genomic)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        slope = residual_slope(y, p, prior, types)
    positives = pd.Series(y).groupby(types).transform("sum").to_numpy()
    sizes = pd.Series(y).groupby(types).transform("size").to_numpy()
    kept = (positives > 0) & (positives < sizes)  # the types with a finite intercept
    assert (~kept).sum() > (types == 40).sum()  # small types with one class occur too
    dummies = pd.get_dummies(types[kept]).to_numpy(float)
    design = np.column_stack([dummies, prior_logit[kept], genomic[kept]])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ beta
        return (float(np.sum(np.logaddexp(0, z) - y[kept] * z)),
                design.T @ (1 / (1 + np.exp(-z)) - y[kept]))

    best = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B",
                    options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 100000})
    assert abs(slope - best.x[-1]) < 1e-6

def _planted(effect: float, n: int = 12000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three cancer types, 30 sparse genes with type-wide effects everywhere, and one gene
    (mut_M) that raises the liver's log-odds by `effect` in type 0 only."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame((rng.random((n, 30)) < 0.1).astype(np.float32),
                     columns=[f"mut_G{i}" for i in range(30)])
    x["mut_M"] = (rng.random(n) < 0.25).astype(np.float32)
    x["cancer_type"] = rng.integers(0, 3, n).astype(np.float32)
    x["subtype"] = x["cancer_type"]
    logit = (-0.8 + 0.4 * x["cancer_type"] + 0.5 * x["mut_G0"] - 0.5 * x["mut_G1"]
             + effect * x["mut_M"] * (x["cancer_type"] == 0))
    y = pd.DataFrame({"LIVER": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)})
    return x, y


def _folds(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    k = np.arange(n) % 4
    return [(np.flatnonzero(k != f), np.flatnonzero(k == f)) for f in range(4)]


_SETTINGS = {"organs": ["LIVER"], "categorical": ("cancer_type", "subtype"),
             "min_positives": 10, "learning_rate": 0.06, "n_jobs": 1}


def _old_oof(x: pd.DataFrame, y: pd.DataFrame) -> np.ndarray:
    """The earlier fitting: each fold early-stopped (patience 30) on a 20% split of its
    training rows, Platt-calibrated there."""
    out = np.zeros(len(x))
    for train, test in _folds(len(x)):
        model = OrganotropismModel(**_SETTINGS, n_estimators=400, early_stopping_rounds=30)
        model.fit(x.iloc[train], y.iloc[train])
        out[test] = model.predict_proba(x.iloc[test]).to_numpy()[:, 0]
    return out


def _new_oof(x: pd.DataFrame, y: pd.DataFrame, type_interactions: int = 0) -> np.ndarray:
    """The cross-validated fitting (`_crossfit`), optionally with type interactions."""
    make = partial(OrganotropismModel, **_SETTINGS, n_estimators=1000,
                   early_stopping_rounds=100, type_interactions=type_interactions,
                   unprofiled_as_absent=[c for c in x.columns if c.startswith("mut_")])
    clinical = partial(make, use_prior=False, features=["cancer_type", "subtype"],
                       type_interactions=0)
    return cross_fit(make, clinical, x, y, _folds(len(x)), log=lambda _: None).oof_model[:, 0]


def _ratio(x: pd.DataFrame, y: pd.DataFrame, predicted: np.ndarray) -> tuple[float, float]:
    rows = (x["cancer_type"] == 0).to_numpy()
    entry = _contrast(y["LIVER"].to_numpy(), predicted, (x["mut_M"] == 1).to_numpy(), rows)
    fidelity = measure_fidelity([entry], {}, "out of fold", n_bootstrap=0)
    return fidelity.pooled_ratio, fidelity.entries[0].predicted


def test_a_planted_type_specific_effect_is_shrunk_by_the_old_fitting_recovered_by_the_new(
        ) -> None:
    x, y = _planted(effect=0.8)
    old_ratio, _ = _ratio(x, y, _old_oof(x, y))
    pooled_ratio, _ = _ratio(x, y, _new_oof(x, y))
    typed_ratio, _ = _ratio(x, y, _new_oof(x, y, type_interactions=200))
    # a handful of trees on one split keeps half of the planted contrast; rounds chosen by
    # the cross-validation keep more; a flag x cancer-type column, which one split can use,
    # keeps most of it (an honest out-of-fold estimate of an effect in one type of three
    # stays somewhat shrunk)
    assert old_ratio < 0.6, old_ratio
    assert pooled_ratio > old_ratio + 0.1, (old_ratio, pooled_ratio)
    assert typed_ratio > max(0.7, pooled_ratio + 0.05), (pooled_ratio, typed_ratio)


def test_without_the_effect_nothing_is_credited() -> None:
    x, y = _planted(effect=0.0)
    for predicted in (_old_oof(x, y), _new_oof(x, y), _new_oof(x, y, type_interactions=200)):
        _, diff = _ratio(x, y, predicted)
        assert abs(diff) < 0.02, diff
