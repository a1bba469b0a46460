"""The leakage audit: refuse features whose value or missingness gives the label away.

Runs on the features actually built, over the patients being modelled, before any
training. Thresholds live in features/leakage.toml.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._base._errors import LeakageError
from .._base._stats import auroc
from .._knowledge._recipes import LeakageRules, load_recipes

__all__ = ["AuditFinding", "AuditReport", "audit_leakage"]


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One feature judged a label proxy for one label."""

    feature: str
    label: str
    kind: str  # "missingness", "separation" or "implies"
    figure: float
    detail: str
    allowed: bool = False

    def __str__(self) -> str:
        return f"{self.feature} -> {self.label}: {self.detail}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """All findings; `refused` are those the configuration did not explicitly allow."""

    findings: tuple[AuditFinding, ...]
    n_rows: int
    n_features: int
    labels: tuple[str, ...] = field(default=())

    @property
    def refused(self) -> tuple[AuditFinding, ...]:
        return tuple(f for f in self.findings if not f.allowed)

    @property
    def refused_features(self) -> list[str]:
        return sorted({f.feature for f in self.refused})

    def raise_if_refused(self) -> None:
        """LeakageError naming every refused feature, its label and the figure."""
        refused = self.refused
        if not refused:
            return
        by_feature: dict[str, AuditFinding] = {}
        for finding in refused:
            by_feature.setdefault(finding.feature, finding)
        lines = [str(f) for f in list(by_feature.values())[:25]]
        more = len(by_feature) - len(lines)
        raise LeakageError(
            f"leakage audit refused {len(by_feature)} feature(s) over {self.n_rows} rows:\n  "
            + "\n  ".join(lines) + (f"\n  ... and {more} more" if more > 0 else "")
            + "\nDrop them, model a population where they are profiled alike, or list them "
              "under [leakage] allow in the experiment config.")

    def to_dict(self) -> dict[str, object]:
        return {"n_rows": self.n_rows, "n_features": self.n_features,
                "refused": [{"feature": f.feature, "label": f.label, "kind": f.kind,
                             "figure": f.figure, "detail": f.detail} for f in self.refused],
                "allowed": [{"feature": f.feature, "label": f.label, "kind": f.kind,
                             "figure": f.figure} for f in self.findings if f.allowed]}


def audit_leakage(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    categorical: Sequence[str] = (),
    strata: np.ndarray | None = None,
    allow: Iterable[str] = (),
    rules: LeakageRules | None = None,
) -> AuditReport:
    """Audit every feature against every label (0/1 columns, rows aligned with `features`).

    Missingness is judged by the Mantel-Haenszel odds ratio within `strata` (cancer type
    codes): a feature missing outside breast cancer is not a label proxy merely because
    breast cancer spreads differently; CNA missing exactly for non-metastatic patients, within
    every cancer type, is. Rows with a missing label are ignored for that label.
    """
    matrix = _Matrix.of(features, categorical, strata)
    audit = _Audit(matrix, rules or load_recipes().leakage, set(allow))
    for label in labels.columns:
        audit.label(str(label), labels[label].to_numpy(dtype=np.float64, na_value=np.nan))
    return AuditReport(tuple(audit.findings), int(len(features)), len(matrix.names),
                       tuple(labels.columns))


@dataclass
class _Matrix:
    """The features as the audit reads them, computed once for every label."""

    x: np.ndarray
    names: list[str]
    categorical: set[str]
    missing_f: np.ndarray  # 1.0 where missing
    ones: np.ndarray  # value == 1
    binary: np.ndarray  # per feature: only 0, 1 or missing, and not categorical
    strata: np.ndarray  # stratum code per row

    @classmethod
    def of(cls, features: pd.DataFrame, categorical: Sequence[str],
           strata: np.ndarray | None) -> _Matrix:
        x = features.to_numpy(dtype=np.float32, na_value=np.nan)
        names = list(features.columns)
        missing = np.isnan(x)
        ones = x == 1
        binary = np.all(missing | ones | (x == 0), axis=0) & ~np.isin(names, list(categorical))
        if strata is None:
            strata = np.zeros(len(features), dtype=np.int64)
        strata = pd.factorize(pd.Series(np.asarray(strata)).fillna(-1))[0]
        return cls(x, names, set(categorical), missing.astype(np.float32), ones, binary,
                   strata)


class _Audit:
    """The findings of one audit, label by label (labels sharing rows share their slices)."""

    def __init__(self, matrix: _Matrix, rules: LeakageRules, allowed: set[str]) -> None:
        self.m, self.rules, self.allowed = matrix, rules, allowed
        self.findings: list[AuditFinding] = []
        self._row_sets: dict[bytes, tuple[np.ndarray, ...]] = {}

    def add(self, j: int, label: str, kind: str, figure: float, detail: str) -> None:
        name = self.m.names[j]
        self.findings.append(AuditFinding(name, label, kind, float(figure), detail,
                                          name in self.allowed))

    def _rows(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """(missing, ones, stratum one-hot, missing per stratum, missing, ones) counts over
        `rows`, sliced once per distinct set of rows."""
        key = np.packbits(rows).tobytes()
        if key not in self._row_sets:
            n = int(rows.sum())
            mf = self.m.missing_f[rows] if not rows.all() else self.m.missing_f
            of = self.m.ones[rows].astype(np.float32)
            st = self.m.strata[rows]
            onehot = np.zeros((n, int(st.max()) + 1), dtype=np.float32)
            onehot[np.arange(n), st] = 1.0
            self._row_sets[key] = (mf, of, onehot, onehot.T @ mf, mf.sum(axis=0),
                                   of.sum(axis=0))
        return self._row_sets[key]

    def label(self, label: str, y_all: np.ndarray) -> None:
        rows = ~np.isnan(y_all)
        y = y_all[rows] == 1
        n = int(rows.sum())
        if n == 0 or y.all() or not y.any():
            return
        min_size = max(self.rules.min_group, self.rules.min_group_fraction * n)
        self._missingness(label, y, rows, min_size)
        self._binary(label, y, rows, min_size)
        self._others(label, y, rows, min_size)

    def _missingness(self, label: str, y: np.ndarray, rows: np.ndarray,
                     min_size: float) -> None:
        """Mantel-Haenszel odds ratio of missingness over strata (per-stratum counts by
        matrix products)."""
        mf, _, onehot, miss_k, n_miss, _ = self._rows(rows)
        yf, n = y.astype(np.float32), len(y)
        a = (onehot * yf[:, None]).T @ mf                   # positive, missing
        b = miss_k - a                                      # negative, missing
        n_k = onehot.sum(axis=0)[:, None]
        pos_k = (onehot * yf[:, None]).sum(axis=0)[:, None]
        c = pos_k - a                                       # positive, present
        d = (n_k - pos_k) - b                               # negative, present
        nk = np.maximum(n_k, 1)
        num = (a * d / nk).sum(axis=0)
        den = (b * c / nk).sum(axis=0)
        mixed = (miss_k > 0) & (miss_k < n_k)
        informative_miss = np.where(mixed, miss_k, 0).sum(axis=0)
        informative_pres = np.where(mixed, n_k - miss_k, 0).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where((num == 0) & (den == 0), 1.0, num / den)
        big = (informative_miss >= min_size) & (informative_pres >= min_size)
        ratio = self.rules.missing_odds_ratio
        flagged = big & ((odds >= ratio) | (odds <= 1.0 / ratio))
        pos_miss = yf @ mf
        n_pos = float(yf.sum())
        for j in np.flatnonzero(flagged):
            rate_m = pos_miss[j] / n_miss[j]
            rate_p = (n_pos - pos_miss[j]) / (n - n_miss[j])
            self.add(j, label, "missingness", odds[j],
                     f"missingness odds ratio {odds[j]:.3g} within cancer type (label rate "
                     f"{rate_m:.1%} where missing, n={int(n_miss[j])}, vs {rate_p:.1%} where "
                     f"present, n={int(n - n_miss[j])})")

    def _binary(self, label: str, y: np.ndarray, rows: np.ndarray, min_size: float) -> None:
        """Binary features, all at once: values that imply the label, and separation."""
        mf, of, _, _, n_miss, n1 = self._rows(rows)
        yf, n = y.astype(np.float32), len(y)
        prevalence, n_pos = float(y.mean()), float(yf.sum())
        rules, binary = self.rules, self.m.binary
        n_present = n - n_miss
        pos1 = yf @ of
        n0 = n_present - n1
        pos0 = (n_pos - yf @ mf) - pos1
        with np.errstate(divide="ignore", invalid="ignore"):
            tpr = pos1 / (pos1 + pos0)
            fpr = (n1 - pos1) / ((n1 - pos1) + (n0 - pos0))
            auc = 0.5 + (tpr - fpr) / 2
            for value, count, pos in ((1, n1, pos1), (0, n0, pos0)):
                rate = pos / count
                hit = binary & (count >= min_size) & (rate >= rules.implies_rate) & (
                    prevalence < rules.implies_prevalence)
                for j in np.flatnonzero(hit):
                    self.add(j, label, "implies", rate[j],
                             f"value {value} carries the label in {rate[j]:.1%} of "
                             f"{int(count[j])} rows (prevalence {prevalence:.1%})")
        enough = binary & (n_present >= min_size) & (n1 > 0) & (n0 > 0)
        sep = enough & ((auc >= rules.separation_auroc) | (auc <= 1 - rules.separation_auroc))
        for j in np.flatnonzero(sep):
            self.add(j, label, "separation", auc[j],
                     f"alone separates the label with AUROC {auc[j]:.3f} over "
                     f"{int(n_present[j])} rows")

    def _others(self, label: str, y: np.ndarray, rows: np.ndarray, min_size: float) -> None:
        """Categorical and continuous features, one by one (there are few)."""
        rules, prevalence = self.rules, float(y.mean())
        for j in np.flatnonzero(~self.m.binary):
            column = self.m.x[rows, j]
            keep = ~np.isnan(column)
            if keep.sum() < min_size:
                continue
            v, t = column[keep], y[keep]
            if t.all() or not t.any():
                continue
            score = v
            if self.m.names[j] in self.m.categorical:
                levels, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
                rate = np.bincount(inverse, weights=t, minlength=len(levels)) / counts
                for lvl, cnt, r in zip(levels, counts, rate, strict=True):
                    if cnt >= min_size and r >= rules.implies_rate and \
                            prevalence < rules.implies_prevalence:
                        self.add(j, label, "implies", r, f"level {int(lvl)} carries the label "
                                 f"in {r:.1%} of {int(cnt)} rows (prevalence {prevalence:.1%})")
                score = rate[inverse]
            auc_j = float(auroc(t, score)[0])
            if auc_j >= rules.separation_auroc or auc_j <= 1 - rules.separation_auroc:
                self.add(j, label, "separation", auc_j,
                         f"alone separates the label with AUROC {auc_j:.3f} over "
                         f"{int(keep.sum())} rows")

