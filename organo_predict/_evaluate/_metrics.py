"""Honest evaluation: grouped, cancer-type-stratified CV and metrics judged within cancer type.

Pure computation on arrays: the experiment module does the IO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from .._base._stats import auroc
from .._model._prior import fit_logistic_on_logit, logit

__all__ = ["MACRO_PRIOR_WITHIN_TYPE", "MACRO_WITHIN_TYPE", "OrganMetrics", "bootstrap_auroc", "cv_splits", "evaluate_organ",
           "largest_types", "sample_context"]

# metrics.json's headline keys: the macro within-type AUROC over the main organs, of the
# model and of the cancer-type/subtype prior (the champion alias is chosen on the first)
MACRO_WITHIN_TYPE = "macro_within_type_auroc_main8"
MACRO_PRIOR_WITHIN_TYPE = "macro_prior_within_type_auroc_main8"


def sample_context(samples: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """What evaluation stratifies and subsets by, per sample: its cancer type as text
    ("unknown" without CANCER_TYPE), and whether it is a primary tumor (SAMPLE_TYPE)."""
    cancer_type = samples.get("CANCER_TYPE", pd.Series("unknown", index=samples.index))
    sample_type = samples.get("SAMPLE_TYPE", pd.Series("", index=samples.index))
    return (cancer_type.astype(str).to_numpy(),
            (sample_type.astype(str).str.lower() == "primary").to_numpy())


def largest_types(cancer_type: np.ndarray, k: int = 8) -> list[str]:
    """The `k` cancer types with the most rows (ties by name): the scopes reported type by
    type (intervals, decision curves)."""
    names, counts = np.unique(np.asarray(cancer_type).astype(str), return_counts=True)
    return [str(t) for t in names[np.argsort(-counts, kind="stable")][:k]]


def cv_splits(strata: np.ndarray, groups: np.ndarray, n_splits: int = 5,
              seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds grouped by patient and stratified by cancer type (rare types pooled)."""
    codes = pd.Series(pd.factorize(pd.Series(strata).fillna("NA"))[0])
    counts = codes.map(codes.value_counts())
    codes = codes.where(counts >= n_splits, -1).to_numpy()
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(codes)), codes, groups))


@lru_cache(maxsize=4)
def poisson_weights(n_boot: int, n: int, seed: int) -> np.ndarray:
    """(n_boot, n) Poisson(1) bootstrap weights of `seed`, read-only: every organ of an
    evaluation resamples the same patients, so they are drawn once. Integer counts: the
    AUROC's sums of them are exact, and gathering them moves half the bytes of floats."""
    weights = np.random.default_rng(seed).poisson(1.0, size=(n_boot, n)).astype(np.int32)
    weights.flags.writeable = False
    return weights


def bootstrap_auroc(y: np.ndarray, scores: Sequence[np.ndarray], n_boot: int = 300,
                    seed: int = 0) -> np.ndarray:
    """(len(scores), n_boot) AUROCs on shared Poisson-bootstrap weights (paired replicates)."""
    weights = poisson_weights(n_boot, len(y), seed)
    return np.vstack([auroc(y, s, weights) for s in scores])


def within_type_auroc(y: np.ndarray, score: np.ndarray, cancer_type: np.ndarray,
                      min_each: int = 20) -> tuple[float, dict[str, float]]:
    """Sample-weighted mean AUROC over cancer types with >= min_each positives and negatives."""
    per_type: dict[str, float] = {}
    total, weight = 0.0, 0
    for t in pd.unique(cancer_type):
        rows = cancer_type == t
        yt = y[rows]
        if yt.sum() >= min_each and (~yt).sum() >= min_each:
            value = float(auroc(yt, score[rows])[0])
            per_type[str(t)] = value
            total += value * rows.sum()
            weight += int(rows.sum())
    return (total / weight if weight else float("nan")), per_type


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    order = np.argsort(-score, kind="mergesort")
    hits = y[order].astype(float)
    if hits.sum() == 0:
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    err = 0.0
    for b in range(bins):
        rows = idx == b
        if rows.any():
            err += rows.mean() * abs(p[rows].mean() - y[rows].mean())
    return float(err)


def calibration_slope(y: np.ndarray, p: np.ndarray) -> float:
    """Slope of the logistic recalibration of y on logit(p) (1 is ideal)."""
    return fit_logistic_on_logit(logit(p), y)[0]


@dataclass(frozen=True, slots=True)
class OrganMetrics:
    """Everything reported for one organ (model, prior and clinical baseline side by side)."""

    organ: str
    n: int
    prevalence: float
    auroc: float
    auroc_ci: tuple[float, float]
    auroc_within_type: float
    auroc_primary: float
    auprc: float
    brier: float
    ece: float
    calibration_slope: float
    prior_auroc: float
    prior_auroc_within_type: float
    prior_auroc_primary: float
    prior_auprc: float
    prior_brier: float
    clinical_auroc: float
    clinical_auroc_within_type: float
    gain_over_prior: float
    gain_over_prior_ci: tuple[float, float]
    gain_within_type: float
    gain_within_type_ci: tuple[float, float]
    per_type: dict[str, dict[str, float]]
    status: str = "trained"

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def within_type_boot(y: np.ndarray, scores: Sequence[np.ndarray], cancer_type: np.ndarray,
                     n_boot: int, seed: int, min_each: int,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """(len(scores), n_boot) within-type AUROCs on shared bootstrap weights (`weights`
    (n_boot, len(y)) when given: the columns of a larger population's draw)."""
    if weights is None:
        weights = poisson_weights(n_boot, len(y), seed)
    out = np.zeros((len(scores), n_boot))
    total = np.zeros(n_boot)
    for t in pd.unique(cancer_type):
        rows = cancer_type == t
        yt = y[rows]
        if yt.sum() >= min_each and (~yt).sum() >= min_each:
            w = weights[:, rows]
            size = w.sum(1)
            for i, s in enumerate(scores):
                out[i] += np.nan_to_num(auroc(yt, s[rows], w)) * size
            total += size
    return out / np.maximum(total, 1)


def evaluate_organ(organ: str, y: np.ndarray, p_model: np.ndarray, p_prior: np.ndarray,
                   p_clinical: np.ndarray | None, cancer_type: np.ndarray, primary: np.ndarray,
                   *, n_boot: int = 300, seed: int = 0, min_each: int = 20,
                   status: str = "trained") -> OrganMetrics:
    """All metrics of one organ on out-of-fold (or external) predictions; without a clinical
    baseline (`p_clinical` None) its metrics are NaN."""
    y = np.asarray(y, dtype=bool)
    boots = bootstrap_auroc(y, [p_model, p_prior], n_boot, seed)
    gain = boots[0] - boots[1]
    wt, per_type_model = within_type_auroc(y, p_model, cancer_type, min_each)
    wt_prior, per_type_prior = within_type_auroc(y, p_prior, cancer_type, min_each)
    wt_clin = (within_type_auroc(y, p_clinical, cancer_type, min_each)[0]
               if p_clinical is not None else float("nan"))
    wt_boot = within_type_boot(y, [p_model, p_prior], cancer_type, n_boot, seed + 1, min_each)
    wt_gain = wt_boot[0] - wt_boot[1]
    prim = np.asarray(primary, dtype=bool)
    counts = pd.Series(cancer_type[y]).value_counts()
    per_type = {t: {"auroc": per_type_model[t], "prior_auroc": per_type_prior.get(t, np.nan),
                    "n": int((cancer_type == t).sum()), "positives": int(counts.get(t, 0))}
                for t in per_type_model}

    def q(values: np.ndarray) -> tuple[float, float]:
        lo, hi = np.nanquantile(values, [0.025, 0.975])
        return float(lo), float(hi)

    def primary_auc(score: np.ndarray) -> float:
        yp = y[prim]
        return float(auroc(yp, score[prim])[0]) if 0 < yp.sum() < len(yp) else float("nan")

    return OrganMetrics(
        organ=organ, n=int(len(y)), prevalence=float(y.mean()),
        auroc=float(auroc(y, p_model)[0]), auroc_ci=q(boots[0]), auroc_within_type=wt,
        auroc_primary=primary_auc(p_model), auprc=average_precision(y, p_model),
        brier=float(np.mean((p_model - y) ** 2)), ece=expected_calibration_error(y, p_model),
        calibration_slope=calibration_slope(y.astype(float), p_model),
        prior_auroc=float(auroc(y, p_prior)[0]), prior_auroc_within_type=wt_prior,
        prior_auroc_primary=primary_auc(p_prior), prior_auprc=average_precision(y, p_prior),
        prior_brier=float(np.mean((p_prior - y) ** 2)),
        clinical_auroc=(float(auroc(y, p_clinical)[0]) if p_clinical is not None
                        else float("nan")),
        clinical_auroc_within_type=wt_clin,
        gain_over_prior=float(auroc(y, p_model)[0] - auroc(y, p_prior)[0]),
        gain_over_prior_ci=q(gain), gain_within_type=float(wt - wt_prior),
        gain_within_type_ci=q(wt_gain), per_type=per_type, status=status,
    )
