"""Fidelity: does the model learn the within-type biology that its explanations credit?

Two measurements, both on predictions the model did not fit (out of fold in the experiment,
a fixed model on another cohort in `evaluate`):

- per knowledge-base entry, the observed contrast (carriers minus non-carriers, the
  Mantel-Haenszel rate difference over the replication's strata) against the same contrast
  of the predicted probabilities, and their ratio, with a bootstrap interval over patients;
  pooled over the entries the cohort replicates as sum(direction x predicted) /
  sum(direction x observed), on shared bootstrap weights. 1: the model reproduces the
  documented differences at their size; below 1: it shrinks them.
- per organ, the within-type calibration slope of the genomic residual: the logistic
  regression of the label on cancer-type intercepts, the prior's log-odds and the residual
  logit(p) - logit(prior); its slope on the residual is 1 when the genomics move the
  predictions as far as the outcomes move, above 1 when the predictions are too timid.

Pure NumPy/scikit-learn on arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from .._model._prior import logit
from ._stratified import strata_cells

__all__ = ["Contrast", "Fidelity", "FidelityEntry", "measure_fidelity", "residual_slope"]


@dataclass(frozen=True, slots=True)
class Contrast:
    """One entry's rows, carriers and strata (as the replication tested it), its label and
    the predicted probability of its organ, per row of the cohort."""

    id: str
    organ: str
    direction: int  # +1 documented up, -1 down
    rows: np.ndarray
    carrier: np.ndarray
    strata: np.ndarray
    label: np.ndarray
    predicted: np.ndarray
    replicated: bool


@dataclass(frozen=True, slots=True)
class FidelityEntry:
    id: str
    organ: str
    replicated: bool
    observed: float
    predicted: float
    ratio: float
    ratio_ci: tuple[float, float]

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "organ": self.organ, "replicated": self.replicated,
                "observed": self.observed, "predicted": self.predicted, "ratio": self.ratio,
                "ratio_ci": list(self.ratio_ci)}


@dataclass(frozen=True, slots=True)
class Fidelity:
    """What metrics.json carries as `fidelity`."""

    entries: tuple[FidelityEntry, ...]
    pooled_ratio: float
    pooled_ratio_ci: tuple[float, float]
    n_pooled: int
    residual_slope: dict[str, float]
    predictions: str  # how the predictions were made

    def to_dict(self) -> dict[str, object]:
        return {"pooled_ratio": self.pooled_ratio, "pooled_ratio_ci": list(self.pooled_ratio_ci),
                "n_pooled": self.n_pooled, "residual_slope": dict(self.residual_slope),
                "predictions": self.predictions,
                "entries": [e.to_dict() for e in self.entries]}


def _weighted_contrasts(values: np.ndarray, cells: list[tuple[np.ndarray, np.ndarray, float]],
                        weights: np.ndarray) -> np.ndarray:
    """(B, columns) Mantel-Haenszel contrasts of `values` (n, columns) under patient weights
    `weights` (B, n): each cell's weighted carrier and non-carrier means, weighted
    n1 n0 / n."""
    total = np.zeros(len(weights))
    out = np.zeros((len(weights), values.shape[1]))
    for car, non, _ in cells:
        w1, w0 = weights[:, car], weights[:, non]
        n1, n0 = w1.sum(1), w0.sum(1)
        ok = (n1 > 0) & (n0 > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = (w1 @ values[car]) / n1[:, None] - (w0 @ values[non]) / n0[:, None]
            w = np.where(ok, n1 * n0 / (n1 + n0), 0.0)
        out += np.where(ok[:, None], w[:, None] * diff, 0.0)
        total += w
    return out / np.maximum(total, 1e-12)[:, None]


def measure_fidelity(contrasts: Sequence[Contrast], slopes: dict[str, float],
                     predictions: str, n_bootstrap: int = 200, seed: int = 0) -> Fidelity:
    """Observed and predicted contrasts of every entry, their ratios with 95% bootstrap
    intervals (Poisson weights over patients, shared by every entry), and the pooled ratio
    over the replicated entries."""
    n = len(contrasts[0].label) if contrasts else 0
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.ones((1, n)), rng.poisson(1.0, (n_bootstrap, n)).astype(float)])
    entries, observed, predicted = [], [], []
    for c in contrasts:
        cells = strata_cells(c.rows, c.carrier, c.strata)
        values = np.column_stack([np.nan_to_num(c.label), np.nan_to_num(c.predicted)])
        both = _weighted_contrasts(values, cells, weights)  # row 0: the point estimate
        obs, pred = both[:, 0], both[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = pred / obs
        low, high = np.nanpercentile(ratios[1:], [2.5, 97.5]) if n_bootstrap else (np.nan,) * 2
        entries.append(FidelityEntry(c.id, c.organ, c.replicated, float(obs[0]),
                                     float(pred[0]), float(ratios[0]), (float(low), float(high))))
        if c.replicated:
            observed.append(c.direction * obs)
            predicted.append(c.direction * pred)
    if observed:
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = np.sum(predicted, axis=0) / np.sum(observed, axis=0)
        low, high = (np.nanpercentile(pooled[1:], [2.5, 97.5]) if n_bootstrap
                     else (np.nan, np.nan))
        point = float(pooled[0])
    else:
        point, low, high = float("nan"), float("nan"), float("nan")
    return Fidelity(tuple(entries), point, (float(low), float(high)), len(observed),
                    dict(slopes), predictions)


def residual_slope(y: np.ndarray, p: np.ndarray, prior: np.ndarray,
                   cancer_type: np.ndarray) -> float:
    """The slope on logit(p) - logit(prior) of the logistic regression of `y` on cancer-type
    intercepts, logit(prior) and that residual (unpenalised); NaN without both classes."""
    y = np.asarray(y, dtype=float)
    keep = ~np.isnan(y) & ~np.isnan(p) & ~np.isnan(prior)
    kind = pd.Series(np.asarray(cancer_type)[keep], dtype="string").fillna("unknown")
    y, p, prior = y[keep], p[keep], prior[keep]
    # a type with one class alone has an intercept at infinity and no say in the slope
    # (its rows' likelihood is 1 in the limit): left out, so the fit is finite and exact
    codes = pd.factorize(kind)[0]
    positives, size = np.bincount(codes, weights=y), np.bincount(codes)
    both = (positives[codes] > 0) & (positives[codes] < size[codes])
    y, p, prior, codes = y[both], p[both], prior[both], codes[both]
    if len(np.unique(y)) < 2:
        return float("nan")
    types = pd.get_dummies(codes).to_numpy(float)
    prior_logit = logit(prior)
    design = np.column_stack([types, prior_logit, logit(p) - prior_logit])
    fit = LogisticRegression(C=np.inf, fit_intercept=False, solver="newton-cholesky",
                             max_iter=1000, tol=1e-10).fit(design, y)  # exact, a few steps
    return float(fit.coef_[0, -1])
