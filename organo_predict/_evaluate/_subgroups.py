"""Performance in subgroups of patients: does the model hold for women and men, the old and
the young, every panel version, primaries and metastases?

Per subgroup level: within-type AUROC (the project's sample-weighted mean over cancer types
with enough of each outcome) of the model and of the cancer-type prior, the gain, and
calibration in the large (observed rate - mean predicted), each with a Poisson-bootstrap
95% interval, paired between model and prior.

Written here rather than with fairlearn's `MetricFrame(n_boot=...)`: that resamples a data
frame and regroups it per replicate, 47 s for one organ, four variables and 100 replicates
on this machine, against 0.6 s with the shared bootstrap weights the rest of the evaluation
uses, the estimates equal (`benchmarks/bench_subgroups.py` runs both). Pure computation on
arrays and the cohort's clinical columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._cohort._cohort import Cohort
from ._metrics import poisson_weights, within_type_auroc, within_type_boot

__all__ = ["AGE_BANDS", "SUBGROUP_VARIABLES", "SubgroupRow", "subgroup_context", "subgroup_metrics",
           "subgroup_performance"]

AGE_BANDS = ((0, 50, "<50"), (50, 65, "50-64"), (65, 75, "65-74"), (75, 200, "75+"))
SUBGROUP_VARIABLES = {
    "sex": "SEX (patient file)",
    "age": "AGE_AT_SEQUENCING in bands <50, 50-64, 65-74, 75+",
    "panel": "the mutation panel of the sample (gene panel matrix, else GENE_PANEL)",
    "sample type": "SAMPLE_TYPE (primary tumor or metastasis biopsy)",
}
UNKNOWN = "unknown"


def subgroup_context(cohort: Cohort, sample_ids: pd.Index) -> pd.DataFrame:
    """One column per `SUBGROUP_VARIABLES` entry for `sample_ids`, as text ("unknown"
    where the cohort does not say). Reporting only: none of it is a model input."""
    # read from the whole cohort and reindexed: a subset would copy its genomic tables too
    def text(values: pd.Series) -> pd.Series:
        out = values.astype(object).where(values.notna(), UNKNOWN).astype(str)
        return out.reindex(sample_ids).fillna(UNKNOWN)

    age = pd.to_numeric(cohort.clinical(["AGE_AT_SEQUENCING"]), errors="coerce")
    bands = pd.Series(UNKNOWN, index=age.index, dtype=object)
    for low, high, label in AGE_BANDS:
        bands[(age >= low) & (age < high)] = label
    return pd.DataFrame({
        "sex": text(cohort.clinical(["SEX"])).str.capitalize().replace("Unknown", UNKNOWN),
        "age": bands.reindex(sample_ids).fillna(UNKNOWN),
        "panel": text(cohort.panel_ids(pd.Index(sample_ids), "mutations")),
        "sample type": text(cohort.clinical(["SAMPLE_TYPE"])).str.lower().replace(
            UNKNOWN.lower(), UNKNOWN),
    }, index=sample_ids)


@dataclass(frozen=True)
class SubgroupRow:
    """One organ in one subgroup level."""

    variable: str
    level: str
    n: int
    positives: int
    auroc_within_type: float
    auroc_within_type_ci: tuple[float, float]
    prior_auroc_within_type: float
    gain_within_type: float
    gain_within_type_ci: tuple[float, float]
    calibration_in_the_large: float
    calibration_in_the_large_ci: tuple[float, float]

    def to_dict(self) -> dict[str, object]:
        def r(v: float) -> float | None:
            return None if not np.isfinite(v) else round(float(v), 4)

        return {"variable": self.variable, "level": self.level, "n": self.n,
                "positives": self.positives, "auroc_within_type": r(self.auroc_within_type),
                "auroc_within_type_ci": [r(v) for v in self.auroc_within_type_ci],
                "prior_auroc_within_type": r(self.prior_auroc_within_type),
                "gain_within_type": r(self.gain_within_type),
                "gain_within_type_ci": [r(v) for v in self.gain_within_type_ci],
                "calibration_in_the_large": r(self.calibration_in_the_large),
                "calibration_in_the_large_ci": [r(v) for v in self.calibration_in_the_large_ci]}


def subgroup_performance(labels: np.ndarray, model: np.ndarray, prior: np.ndarray,
                         cancer_type: np.ndarray, context: pd.DataFrame, n_boot: int = 200,
                         seed: int = 0, min_each: int = 20, min_level: int = 100
                         ) -> list[SubgroupRow]:
    """Every level (with at least `min_level` patients) of every column of `context` (rows
    aligned with `labels`); AUROC is NaN where no cancer type in the level has `min_each`
    patients with and without the outcome."""
    labels = np.asarray(labels, bool)
    model, prior = np.asarray(model, float), np.asarray(prior, float)
    cancer_type = np.asarray(cancer_type)
    # one Poisson draw for the whole population, each level reading its own columns (a
    # subset of independent Poisson(1) weights is a Poisson bootstrap of the subset)
    weights = poisson_weights(n_boot, len(labels), seed)
    rows_out = []
    for variable in context.columns:
        values = context[variable].to_numpy(dtype=object)
        levels, counts = np.unique(values.astype(str), return_counts=True)
        for level in levels[np.argsort(-counts, kind="stable")]:
            rows = values == level
            if rows.sum() < min_level:
                continue
            rows_out.append(_level_row(variable, str(level), labels[rows], model[rows],
                                       prior[rows], cancer_type[rows], weights[:, rows],
                                       min_each))
    return rows_out


def _level_row(variable: str, level: str, y: np.ndarray, p: np.ndarray, prior: np.ndarray,
               cancer_type: np.ndarray, weights: np.ndarray, min_each: int) -> SubgroupRow:
    def q(values: np.ndarray) -> tuple[float, float]:
        if not np.isfinite(values).any():
            return (float("nan"), float("nan"))
        lo, hi = np.nanquantile(values, [0.025, 0.975])
        return float(lo), float(hi)

    model_wt = within_type_auroc(y, p, cancer_type, min_each)[0]
    prior_wt = within_type_auroc(y, prior, cancer_type, min_each)[0]
    if np.isfinite(model_wt):
        boot = within_type_boot(y, [p, prior], cancer_type, len(weights), 0, min_each,
                                weights=weights)
        auroc_ci, gain_ci = q(boot[0]), q(boot[0] - boot[1])
    else:
        auroc_ci = gain_ci = (float("nan"), float("nan"))
    citl_boot = (weights @ (y - p)) / np.maximum(weights.sum(1), 1)
    return SubgroupRow(variable, level, len(y), int(y.sum()), model_wt, auroc_ci, prior_wt,
                       model_wt - prior_wt, gain_ci, float(np.mean(y - p)), q(citl_boot))


def subgroup_metrics(y: pd.DataFrame, model: np.ndarray, prior: np.ndarray,
                     cancer_type: np.ndarray, context: pd.DataFrame, organs: list[str],
                     n_boot: int = 200, seed: int = 0) -> dict[str, object]:
    """metrics.json's "subgroups": the variables and, per organ of `organs` (columns of `y`;
    `model` and `prior` aligned with them), one row per subgroup level."""
    columns = list(y.columns)
    out = {}
    for organ in organs:
        j = columns.index(organ)
        known = y[organ].notna().to_numpy()
        rows = subgroup_performance(y[organ].to_numpy()[known] == 1, model[known, j],
                                    prior[known, j], np.asarray(cancer_type)[known],
                                    context[known], n_boot, seed)
        out[organ] = [r.to_dict() for r in rows]
    return {"variables": dict(SUBGROUP_VARIABLES), "organs": out}
