"""An interval on every organ's probability: Venn-ABERS predictors, Mondrian by cancer type.

A Venn-ABERS predictor (Vovk, Petej & Fedorova, NeurIPS 2015) fits isotonic regression to
calibration scores twice, with the new patient added once as a negative and once as a
positive; the two fitted values [p0, p1] bracket the calibrated probability, and one of
them is perfectly calibrated whatever the model. Fitted on the experiment's out-of-fold
probabilities, one predictor per organ and per cancer type with at least `min_patients`
patients (Mondrian: valid within the type, not only on average), the pooled one for the
rest. The isotonic step functions come from the `venn-abers` package (`calc_p0p1`); they
are kept as tables (score knots, p0, p1), so applying them is a binary search and the
registered model carries them as plain arrays.

`check_intervals` is the out-of-fold test of docs/results.md: in bins of predicted risk,
the observed rate lies within the bin's mean [p0, p1] envelope, up to its binomial sampling
error. Pure NumPy on arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["IntervalCheck", "ProbabilityIntervals", "check_intervals", "cross_fitted_intervals"]

POOLED = "pooled"  # the key of an organ's pooled table
Z_LIMIT = 1.96  # a bin passes when its observed rate is within 1.96 SE of the envelope


def _calc_p0p1(scores: np.ndarray, labels: np.ndarray, precision: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The package's isotonic tables. Importing it switches NumPy's divide/invalid warnings
    off process-wide (`np.seterr` at import); the state is restored here."""
    state = np.geterr()
    try:
        from venn_abers.venn_abers import calc_p0p1
    finally:
        np.seterr(**state)
    with np.errstate(divide="ignore", invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # its all-NaN slices at the ends
            p0, p1, knots = calc_p0p1(np.c_[1 - scores, scores], labels.astype(float),
                                      precision=precision)
    return knots, p0[:, 1], p1[:, 1]


@dataclass(frozen=True)
class _Table:
    """One Venn-ABERS predictor: sorted calibration scores and the p0/p1 of each gap."""

    knots: np.ndarray
    p0: np.ndarray  # len(knots) + 1
    p1: np.ndarray
    n: int

    def apply(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (self.p0[np.searchsorted(self.knots, scores, "right")],
                self.p1[np.searchsorted(self.knots, scores, "left")])

    def to_state(self) -> dict[str, object]:
        return {"knots": self.knots.tolist(), "p0": self.p0.tolist(), "p1": self.p1.tolist(),
                "n": self.n}

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> _Table:
        return cls(np.asarray(state["knots"], float), np.asarray(state["p0"], float),
                   np.asarray(state["p1"], float), int(state["n"]))


class ProbabilityIntervals:
    """Venn-ABERS intervals per organ, Mondrian by cancer type (scikit-learn style: settings
    in `__init__`, fitted `tables_`).

    min_patients: a cancer type with at least this many calibration patients (and both
        outcomes) gets its own predictor; smaller ones use the organ's pooled predictor.
    precision: calibration probabilities are rounded to this many decimals (0.1% at 3),
        which bounds each table at 10**precision + 1 knots.
    """

    def __init__(self, min_patients: int = 200, precision: int = 3) -> None:
        self.min_patients = min_patients
        self.precision = precision

    def fit(self, probabilities: pd.DataFrame, y: pd.DataFrame, cancer_type: np.ndarray
            ) -> ProbabilityIntervals:
        """Tables from out-of-fold `probabilities` (n, organs), labels `y` (same columns) and
        each row's cancer-type code (NaN: unknown, pooled only)."""
        codes = np.asarray(cancer_type, dtype=float)
        self.organs_ = list(probabilities.columns)
        self.tables_: dict[str, dict[str, _Table]] = {}
        for organ in self.organs_:
            p = np.round(probabilities[organ].to_numpy(float), self.precision)
            labels = y[organ].to_numpy() == 1
            known = ~np.isnan(p) & y[organ].notna().to_numpy()
            tables = {}
            if 0 < labels[known].sum() < known.sum():
                tables[POOLED] = self._table(p[known], labels[known])
                for code in np.unique(codes[known & ~np.isnan(codes)]):
                    rows = known & (codes == code)
                    if rows.sum() >= self.min_patients and 0 < labels[rows].sum() < rows.sum():
                        tables[_key(code)] = self._table(p[rows], labels[rows])
            self.tables_[organ] = tables
        return self

    def _table(self, p: np.ndarray, labels: np.ndarray) -> _Table:
        knots, p0, p1 = _calc_p0p1(p, labels, self.precision)
        # 6 decimals (a millionth of a probability) keep the bounds exact to what is shown
        # and halve the registered model's intervals.json (2.6 MB -> 1.5 MB)
        return _Table(np.round(knots, self.precision), np.round(p0, 6), np.round(p1, 6), len(p))

    def predict(self, probabilities: pd.DataFrame, cancer_type: np.ndarray
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(low, high): each row's [p0, p1] per organ, from its cancer type's predictor or
        the pooled one; NaN for an organ without one (never trained)."""
        codes = np.asarray(cancer_type, dtype=float)
        present = np.unique(codes[~np.isnan(codes)])  # the types of these rows, once
        low = pd.DataFrame(np.nan, index=probabilities.index, columns=probabilities.columns)
        high = low.copy()
        for organ in probabilities.columns:
            tables = self.tables_.get(organ, {})
            if POOLED not in tables:
                continue
            p = np.round(probabilities[organ].to_numpy(float), self.precision)
            lo, hi = np.full(len(p), np.nan), np.full(len(p), np.nan)
            pooled = np.ones(len(p), dtype=bool)
            for code in present:
                table = tables.get(_key(code))
                if table is not None:
                    rows = codes == code
                    lo[rows], hi[rows] = table.apply(p[rows])
                    pooled &= ~rows
            if pooled.any():
                lo[pooled], hi[pooled] = tables[POOLED].apply(p[pooled])
            low[organ], high[organ] = lo, hi
        return low, high

    def to_state(self) -> dict[str, object]:
        return {"params": {"min_patients": self.min_patients, "precision": self.precision},
                "organs": self.organs_,
                "tables": {o: {k: t.to_state() for k, t in tables.items()}
                           for o, tables in self.tables_.items()}}

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> ProbabilityIntervals:
        out = cls(**state["params"])
        out.organs_ = list(state["organs"])
        out.tables_ = {o: {k: _Table.from_state(t) for k, t in tables.items()}
                       for o, tables in state["tables"].items()}
        return out


def _key(code: float) -> str:
    return str(int(code))


def cross_fitted_intervals(probabilities: pd.DataFrame, y: pd.DataFrame,
                           cancer_type: np.ndarray, folds: Sequence[np.ndarray],
                           **params: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each fold's intervals from predictors fitted on the other folds only (so a patient's
    interval never saw its label): what `check_intervals` tests out of fold. `folds`: the
    held-out row indices of each fold."""
    codes = np.asarray(cancer_type, dtype=float)
    low = pd.DataFrame(np.nan, index=probabilities.index, columns=probabilities.columns)
    high = low.copy()
    for held_out in folds:
        train = np.ones(len(probabilities), dtype=bool)
        train[held_out] = False
        fitted = ProbabilityIntervals(**params).fit(probabilities[train], y[train], codes[train])
        lo, hi = fitted.predict(probabilities.iloc[held_out], codes[held_out])
        low.iloc[held_out], high.iloc[held_out] = lo.to_numpy(), hi.to_numpy()
    return low, high


@dataclass(frozen=True)
class IntervalCheck:
    """One scope's (an organ pooled, or within one cancer type) out-of-fold test."""

    n: int
    n_bins: int
    bins_within: int  # bins whose observed rate is within Z_LIMIT SE of the envelope
    max_abs_z: float
    mean_width: float  # mean p1 - p0
    point_outside: float  # share of rows whose model probability is outside [p0, p1]

    @property
    def passed(self) -> bool:
        """No more bins outside than chance allows: at 1.96 SE a calibrated envelope leaves
        about 5% of bins outside, so the count may reach the binomial(n_bins, 0.05) 99th
        percentile (3 of 10 bins)."""
        from scipy.stats import binom

        allowed = int(binom.ppf(0.99, self.n_bins, 0.05))
        return self.n_bins > 0 and self.n_bins - self.bins_within <= allowed

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "n_bins": self.n_bins, "bins_within": self.bins_within,
                "max_abs_z": round(self.max_abs_z, 3), "mean_width": round(self.mean_width, 4),
                "point_outside": round(self.point_outside, 3), "passed": self.passed}


def check_intervals(probability: np.ndarray, low: np.ndarray, high: np.ndarray,
                    labels: np.ndarray, n_bins: int = 10, min_bin: int = 20) -> IntervalCheck:
    """Bins of equal size by predicted `probability`; in each, the distance of the observed
    rate from the bin's mean [low, high] envelope in binomial standard errors (0 inside).
    Bins under `min_bin` rows are skipped (too noisy to test)."""
    probability, low, high = (np.asarray(a, float) for a in (probability, low, high))
    labels = np.asarray(labels, float)
    edges = np.unique(np.quantile(probability, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, probability, "right") - 1, 0, max(len(edges) - 2, 0))
    z_values = []
    for b in range(max(len(edges) - 1, 1)):
        rows = bins == b
        if rows.sum() < min_bin:
            continue
        observed = labels[rows].mean()
        nearest = min(max(observed, low[rows].mean()), high[rows].mean())
        se = np.sqrt(max(nearest * (1 - nearest), 1e-6) / rows.sum())
        z_values.append((observed - nearest) / se)
    z = np.abs(np.asarray(z_values))
    return IntervalCheck(
        n=len(probability), n_bins=len(z), bins_within=int((z <= Z_LIMIT).sum()),
        max_abs_z=float(z.max()) if len(z) else 0.0, mean_width=float(np.mean(high - low)),
        point_outside=float(np.mean((probability < low) | (probability > high))))
