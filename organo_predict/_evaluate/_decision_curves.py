"""Decision curves: is acting on the model's probability better than acting on the cancer type?

Net benefit (Vickers & Elkin, Med Decis Making 2006) of treating (imaging an organ, say)
every patient whose probability is at least a threshold t: true positives per patient
minus false positives per patient weighted by the odds t / (1 - t) at which a clinician
choosing t trades a missed metastasis for an unneeded scan. Compared over a range of
thresholds: the model, the cancer-type prior, treat-all and treat-none (0).

The range is stated per scope (an organ pooled, or within one cancer type): thresholds
whose odds are within a factor of `ODDS_FACTOR` of the scope's observed odds, evenly spaced
on the log-odds scale, clipped to [1%, 80%]; around the observed rate is where a risk
model can change a decision (far below it everyone is scanned, far above it no one).

Written here rather than with dcurves: dcurves needs lifelines, which pins pandas < 3, and
the formula is the same (`benchmarks/check_dcurves.py` compares the two on the same
predictions, equal to 1e-12). Pure NumPy on arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._metrics import poisson_weights

__all__ = ["DecisionCurve", "ODDS_FACTOR", "decision_curve", "decision_curve_metrics",
           "decision_curves", "net_benefit", "threshold_range"]

ODDS_FACTOR = 3.0  # thresholds from odds / 3 to odds x 3 of the scope's observed rate
N_THRESHOLDS = 25
THRESHOLD_CLIP = (0.01, 0.80)


def threshold_range(prevalence: float, n: int = N_THRESHOLDS,
                    factor: float = ODDS_FACTOR) -> np.ndarray:
    """`n` thresholds whose odds run from the observed odds / `factor` to x `factor`."""
    prevalence = float(np.clip(prevalence, 1e-3, 1 - 1e-3))
    centre = np.log(prevalence / (1 - prevalence))
    logits = np.linspace(centre - np.log(factor), centre + np.log(factor), n)
    return np.clip(1 / (1 + np.exp(-logits)), *THRESHOLD_CLIP)


def net_benefit(labels: np.ndarray, probability: np.ndarray, thresholds: np.ndarray,
                weights: np.ndarray | None = None) -> np.ndarray:
    """Net benefit of treating `probability >= t`, per threshold t: TP/n - FP/n * t/(1-t).
    `weights` (B, n) gives B weighted (bootstrap) curves at once, shape (B, T)."""
    labels = np.asarray(labels, bool)
    treated = np.asarray(probability, float)[:, None] >= np.asarray(thresholds)[None, :]
    w = np.ones((1, len(labels))) if weights is None else np.atleast_2d(weights)
    w = w.astype(np.float64)
    n = w.sum(1, keepdims=True)
    tp = w[:, labels] @ treated[labels].astype(np.float64)
    fp = w[:, ~labels] @ treated[~labels].astype(np.float64)
    odds = np.asarray(thresholds) / (1 - np.asarray(thresholds))
    out = (tp - fp * odds[None, :]) / n
    return out if weights is not None else out[0]


@dataclass(frozen=True)
class DecisionCurve:
    """One scope's curves and what they say (net benefit in true positives per patient)."""

    scope: str
    n: int
    prevalence: float
    thresholds: np.ndarray
    model: np.ndarray
    prior: np.ndarray
    treat_all: np.ndarray
    gain_over_prior: float  # mean over the range of NB(model) - NB(prior), per 100 patients
    gain_over_prior_ci: tuple[float, float]
    share_best: float  # share of thresholds where the model is above prior, all and none

    def to_dict(self) -> dict[str, object]:
        return {"scope": self.scope, "n": self.n, "prevalence": round(self.prevalence, 4),
                "thresholds": [round(float(t), 4) for t in self.thresholds],
                "model": [round(float(v), 5) for v in self.model],
                "prior": [round(float(v), 5) for v in self.prior],
                "treat_all": [round(float(v), 5) for v in self.treat_all],
                "gain_over_prior_per_100": round(self.gain_over_prior, 3),
                "gain_over_prior_per_100_ci": [round(v, 3) for v in self.gain_over_prior_ci],
                "share_of_range_best": round(self.share_best, 3)}


def decision_curve(scope: str, labels: np.ndarray, model: np.ndarray, prior: np.ndarray,
                   n_boot: int = 200, seed: int = 0, weights: np.ndarray | None = None
                   ) -> DecisionCurve:
    """The curves of one scope over its stated range, with a paired Poisson-bootstrap
    interval on the model's mean gain over the prior (`weights` (n_boot, n): the scope's
    columns of a larger population's draw, instead of a draw of its own)."""
    labels = np.asarray(labels, bool)
    thresholds = threshold_range(float(labels.mean()))
    nb_model, nb_prior = (net_benefit(labels, s, thresholds) for s in (model, prior))
    nb_all = net_benefit(labels, np.ones(len(labels)), thresholds)
    if weights is None:
        weights = poisson_weights(n_boot, len(labels), seed)
    boot = (net_benefit(labels, model, thresholds, weights)
            - net_benefit(labels, prior, thresholds, weights)).mean(1) * 100
    lo, hi = np.nanquantile(boot, [0.025, 0.975])
    best = nb_model > np.maximum.reduce([nb_prior, nb_all, np.zeros_like(nb_all)])
    return DecisionCurve(scope, len(labels), float(labels.mean()), thresholds, nb_model,
                         nb_prior, nb_all, float((nb_model - nb_prior).mean() * 100),
                         (float(lo), float(hi)), float(best.mean()))


def decision_curves(labels: np.ndarray, model: np.ndarray, prior: np.ndarray,
                    cancer_type: np.ndarray, types: Sequence[str], n_boot: int = 200,
                    seed: int = 0, min_each: int = 20) -> dict[str, DecisionCurve]:
    """An organ's curves pooled and within each of `types` that has at least `min_each`
    patients with and without the outcome."""
    labels = np.asarray(labels, bool)
    weights = poisson_weights(n_boot, len(labels), seed)  # each type reads its columns
    out = {"pooled": decision_curve("pooled", labels, model, prior, weights=weights)}
    for t in types:
        rows = np.asarray(cancer_type) == t
        if labels[rows].sum() >= min_each and (~labels[rows]).sum() >= min_each:
            out[t] = decision_curve(t, labels[rows], model[rows], prior[rows],
                                    weights=weights[:, rows])
    return out


def decision_curve_metrics(y: pd.DataFrame, model: np.ndarray, prior: np.ndarray,
                           cancer_type: np.ndarray, organs: Sequence[str],
                           types: Sequence[str], n_boot: int = 200, seed: int = 0
                           ) -> dict[str, object]:
    """metrics.json's "decision_curves": the range rule, and per organ of `organs` (columns
    of `y`; `model` and `prior` aligned with them) its curves pooled and within `types`."""
    columns = list(y.columns)
    out: dict[str, object] = {}
    for organ in organs:
        j = columns.index(organ)
        known = y[organ].notna().to_numpy()
        labels = y[organ].to_numpy()[known] == 1
        if not 0 < labels.sum() < len(labels):
            continue
        curves = decision_curves(labels, model[known, j], prior[known, j],
                                 np.asarray(cancer_type)[known], types, n_boot, seed)
        out[organ] = {scope: curve.to_dict() for scope, curve in curves.items()}
    return {"range": f"thresholds whose odds are within x{ODDS_FACTOR:g} of the scope's "
                     f"observed odds, {N_THRESHOLDS} points on the log-odds scale, clipped to "
                     f"[{THRESHOLD_CLIP[0]:.0%}, {THRESHOLD_CLIP[1]:.0%}]",
            "gain": "mean over the range of net benefit (model) - net benefit (cancer-type "
                    "prior), in true positives per 100 patients, paired bootstrap 95% CI",
            "types": list(types), "organs": out}
