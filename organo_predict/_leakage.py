"""The leakage audit: refuse features whose value or missingness gives the label away.

Runs on the features actually built, over the patients being modelled, before any
training. Thresholds live in features/leakage.toml.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ._errors import LeakageError
from ._recipes import LeakageRules, load_recipes

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
    rules = rules or load_recipes().leakage
    allowed = set(allow)
    x = features.to_numpy(dtype=np.float32, na_value=np.nan)
    names = list(features.columns)
    categorical = set(categorical)
    missing = np.isnan(x)
    ones = x == 1
    binary = np.all(missing | ones | (x == 0), axis=0) & ~np.isin(names, list(categorical))
    if strata is None:
        strata = np.zeros(len(features), dtype=np.int64)
    strata = pd.factorize(pd.Series(np.asarray(strata)).fillna(-1))[0]
    missing_f = missing.astype(np.float32)
    findings: list[AuditFinding] = []

    def add(j: int, label: str, kind: str, figure: float, detail: str) -> None:
        findings.append(AuditFinding(names[j], label, kind, float(figure), detail,
                                     names[j] in allowed))

    row_sets: dict[bytes, tuple[np.ndarray, ...]] = {}
    for label in labels.columns:
        y_all = labels[label].to_numpy(dtype=np.float64, na_value=np.nan)
        rows = ~np.isnan(y_all)
        y = y_all[rows] == 1
        n = int(rows.sum())
        if n == 0 or y.all() or not y.any():
            continue
        key = np.packbits(rows).tobytes()
        if key not in row_sets:  # labels usually share their rows: slice once
            mf = missing_f[rows] if not rows.all() else missing_f
            of = ones[rows].astype(np.float32)
            st = strata[rows]
            onehot = np.zeros((n, int(st.max()) + 1), dtype=np.float32)
            onehot[np.arange(n), st] = 1.0
            row_sets[key] = (mf, of, onehot, onehot.T @ mf, mf.sum(axis=0), of.sum(axis=0))
        mf, of, onehot, miss_k, n_miss, n1 = row_sets[key]
        yf = y.astype(np.float32)
        prevalence = float(y.mean())
        min_size = max(rules.min_group, rules.min_group_fraction * n)
        # --- missingness, Mantel-Haenszel over strata (per-stratum counts by matrix products)
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
        flagged = big & ((odds >= rules.missing_odds_ratio)
                         | (odds <= 1.0 / rules.missing_odds_ratio))
        pos_miss = yf @ mf
        n_pos = float(yf.sum())
        for j in np.flatnonzero(flagged):
            rate_m = pos_miss[j] / n_miss[j]
            rate_p = (n_pos - pos_miss[j]) / (n - n_miss[j])
            add(j, label, "missingness", odds[j],
                f"missingness odds ratio {odds[j]:.3g} within cancer type (label rate "
                f"{rate_m:.1%} where missing, n={int(n_miss[j])}, vs {rate_p:.1%} where "
                f"present, n={int(n - n_miss[j])})")
        # --- binary features, all at once: separation and values that imply the label
        n_present = n - n_miss
        pos1 = yf @ of
        n0 = n_present - n1
        pos0 = (n_pos - pos_miss) - pos1
        with np.errstate(divide="ignore", invalid="ignore"):
            tpr = pos1 / (pos1 + pos0)
            fpr = (n1 - pos1) / ((n1 - pos1) + (n0 - pos0))
            auc = 0.5 + (tpr - fpr) / 2
            for value, count, pos in ((1, n1, pos1), (0, n0, pos0)):
                rate = pos / count
                hit = binary & (count >= min_size) & (rate >= rules.implies_rate) & (
                    prevalence < rules.implies_prevalence)
                for j in np.flatnonzero(hit):
                    add(j, label, "implies", rate[j],
                        f"value {value} carries the label in {rate[j]:.1%} of {int(count[j])} "
                        f"rows (prevalence {prevalence:.1%})")
        enough = binary & (n_present >= min_size) & (n1 > 0) & (n0 > 0)
        sep = enough & ((auc >= rules.separation_auroc) | (auc <= 1 - rules.separation_auroc))
        for j in np.flatnonzero(sep):
            add(j, label, "separation", auc[j],
                f"alone separates the label with AUROC {auc[j]:.3f} over {int(n_present[j])} "
                "rows")
        # --- categorical and continuous features, one by one (there are few)
        for j in np.flatnonzero(~binary):
            column = x[rows, j]
            keep = ~np.isnan(column)
            if keep.sum() < min_size:
                continue
            v, t = column[keep], y[keep]
            if t.all() or not t.any():
                continue
            score = v
            if names[j] in categorical:
                levels, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
                rate = np.bincount(inverse, weights=t, minlength=len(levels)) / counts
                for lvl, cnt, r in zip(levels, counts, rate, strict=True):
                    if cnt >= min_size and r >= rules.implies_rate and \
                            prevalence < rules.implies_prevalence:
                        add(j, label, "implies", r, f"level {int(lvl)} carries the label in "
                            f"{r:.1%} of {int(cnt)} rows (prevalence {prevalence:.1%})")
                score = rate[inverse]
            auc_j = _auroc(score, t)
            if auc_j >= rules.separation_auroc or auc_j <= 1 - rules.separation_auroc:
                add(j, label, "separation", auc_j,
                    f"alone separates the label with AUROC {auc_j:.3f} over {int(keep.sum())} "
                    "rows")
    return AuditReport(tuple(findings), int(len(features)), len(names), tuple(labels.columns))


def _auroc(score: np.ndarray, truth: np.ndarray) -> float:
    ranks = rankdata(score)
    n_pos = truth.sum()
    n_neg = truth.size - n_pos
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
