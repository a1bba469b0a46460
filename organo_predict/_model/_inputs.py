"""How the model reads its inputs, the same in training and prediction: the prior's
log-odds, alteration flags not on a sample's panel read as "not carried"
(`unprofiled_as_absent`), whole-tumor summaries a cohort did not measure read as the
cancer type's training median (`missing_as_type_median`), and the flag x cancer-type
columns of `type_interactions`. Pure computation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ._prior import code_key, logit

__all__ = ["InputReadingMixin", "ModelInputs"]


@dataclass(frozen=True)
class ModelInputs:
    """A feature frame converted once for repeated use across organs: `data`, the model's
    columns as C-ordered float32 the way the trees read them; `as_built`, the same values as
    the feature builder made them (NaN: not profiled), for what explanations show; and the
    prior's log-odds (n, organs). `as_built` is `data` itself when the two do not differ."""

    data: np.ndarray
    prior_logit: np.ndarray
    index: pd.Index
    as_built: np.ndarray
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def take(self, rows: np.ndarray) -> ModelInputs:
        """The same inputs for a subset of rows (a boolean mask or positions)."""
        data = self.data[rows]
        return ModelInputs(data, self.prior_logit[rows], self.index[rows],
                           data if self.as_built is self.data else self.as_built[rows])

    def columns(self) -> np.ndarray:
        """The same data column-major (built once): per-feature scans read it contiguously."""
        if "columns" not in self._cache:
            self._cache["columns"] = np.asfortranarray(self.data)
        return self._cache["columns"]


class InputReadingMixin:
    """`OrganotropismModel`'s input conversions. Reads the estimator's settings
    (`use_prior`, `unprofiled_as_absent`, `type_interactions`) and fitted state
    (`feature_names_`, `prior_`, `summary_medians_`, `interactions_`); caches column
    positions in `_columns_cache`, which is never saved or cloned."""

    def _prior_logit(self, x: pd.DataFrame) -> np.ndarray:
        if not self.use_prior:
            return np.tile(logit(self.prior_.global_), (len(x), 1))
        return logit(self.prior_.predict(x["cancer_type"].to_numpy(np.float64),
                                         x["subtype"].to_numpy(np.float64)))

    @property
    def tree_feature_names_(self) -> list[str]:
        """The columns the trees read: the features, then one per type interaction."""
        return list(self.feature_names_) + [
            f"{self.feature_names_[f]}__in_type_{int(t)}" for f, t in self._interactions()]

    def tree_feature_of(self) -> np.ndarray:
        """For each column the trees read, the model feature it belongs to (an interaction
        column belongs to its alteration flag)."""
        return np.concatenate([np.arange(len(self.feature_names_)),
                               np.asarray([f for f, _ in self._interactions()], dtype=np.int64)]
                              ).astype(np.int64)

    def _interactions(self) -> list[tuple[int, float]]:
        return list(getattr(self, "interactions_", []))  # absent from older bundles

    def _select_interactions(self, data: np.ndarray) -> list[tuple[int, float]]:
        """(flag position, cancer-type code) pairs with at least `type_interactions`
        carriers and non-carriers within the type, from the trees' view of the flags."""
        if self.type_interactions <= 0:
            return []
        flags = self._absent_positions()
        cancer_type = data[:, self.feature_names_.index("cancer_type")]
        pairs = []
        for code in np.unique(cancer_type[~np.isnan(cancer_type)]):
            rows = cancer_type == code
            carriers = (data[np.ix_(rows, flags)] == 1).sum(axis=0)
            enough = (carriers >= self.type_interactions) & (
                rows.sum() - carriers >= self.type_interactions)
            pairs += [(int(f), float(code)) for f in flags[enough]]
        return sorted(pairs)

    def _interaction_columns(self, data: np.ndarray) -> np.ndarray:
        """(n, interactions): each flag where the row's cancer type is the pair's, else 0."""
        pairs = self._interactions()
        cancer_type = data[:, self.feature_names_.index("cancer_type")]
        out = np.zeros((len(data), len(pairs)), dtype=np.float32)
        for k, (f, code) in enumerate(pairs):
            out[:, k] = np.where(cancer_type == code, data[:, f], 0.0)
        return out

    def inputs(self, x: pd.DataFrame | ModelInputs) -> ModelInputs:
        """Convert a feature frame once (idempotent on `ModelInputs`)."""
        if isinstance(x, ModelInputs):
            return x
        check_is_fitted(self, "fits_")
        cache = self.__dict__.setdefault("_columns_cache", {})
        if "index" not in cache:
            cache["index"] = pd.Index(self.feature_names_)
        frame = x if x.columns.equals(cache["index"]) else x[self.feature_names_]
        as_built = np.ascontiguousarray(frame.to_numpy(np.float32))
        return ModelInputs(self._tree_matrix(as_built), self._prior_logit(x), x.index,
                           as_built)

    def _tree_matrix(self, values: np.ndarray) -> np.ndarray:
        """What the trees read (`_as_trees_read`), with the type-interaction columns."""
        data = self._as_trees_read(values)
        if not self._interactions():
            return data
        return np.ascontiguousarray(np.hstack([data, self._interaction_columns(data)]))

    def _absent_positions(self) -> np.ndarray:
        """Column positions of `unprofiled_as_absent` among the model's features (cached)."""
        cache = self.__dict__.setdefault("_columns_cache", {})
        if "absent" not in cache:
            wanted = set(self.unprofiled_as_absent)
            cache["absent"] = np.asarray([j for j, f in enumerate(self.feature_names_)
                                          if f in wanted], dtype=np.int64)
        return cache["absent"]

    def _median_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(column positions, sorted cancer-type codes, medians by code, overall medians) of
        `summary_medians_` as arrays (cached)."""
        cache = self.__dict__.setdefault("_columns_cache", {})
        if "medians" not in cache:
            fitted = getattr(self, "summary_medians_", {})  # absent from older bundles
            names = [c for c in fitted if c in self.feature_names_]
            codes = np.asarray(sorted({float(k) for c in names for k in fitted[c]["by_type"]}),
                               dtype=np.float64)
            by_type = np.array([[fitted[c]["by_type"].get(code_key(code), fitted[c]["overall"])
                                 for c in names] for code in codes],
                               dtype=np.float32).reshape(len(codes), len(names))
            cache["medians"] = (
                np.asarray([self.feature_names_.index(c) for c in names], dtype=np.int64),
                codes, by_type,
                np.asarray([fitted[c]["overall"] for c in names], dtype=np.float32))
        return cache["medians"]

    def _as_trees_read(self, data: np.ndarray) -> np.ndarray:
        """What the trees are trained on and predict from: `data` itself when no column is
        read differently, else a copy with NaN read as 0 in the `unprofiled_as_absent`
        columns and as the cancer type's median in the `missing_as_type_median` ones
        (`data`, the caller's values, is never modified)."""
        positions = self._absent_positions()
        summaries, codes, by_type, overall = self._median_table()
        missing = np.isnan(data[:, summaries]) if len(summaries) else None
        impute = missing is not None and missing.any()
        if not len(positions) and not impute:
            return data
        data = data.copy()
        if len(positions):
            block = data[:, positions]
            block[np.isnan(block)] = 0.0
            data[:, positions] = block
        if impute:
            rows = np.flatnonzero(missing.any(axis=1))
            cancer_type = data[rows, self.feature_names_.index("cancer_type")]
            at = np.clip(np.searchsorted(codes, cancer_type), 0, max(len(codes) - 1, 0))
            known = (codes[at] == cancer_type) if len(codes) else np.zeros(len(rows), bool)
            fill = np.where(known[:, None], by_type[at] if len(codes) else overall, overall)
            block = data[np.ix_(rows, summaries)]
            gaps = missing[rows]
            block[gaps] = fill[gaps]
            data[np.ix_(rows, summaries)] = block
        return data

    def cancer_type_codes(self, x: pd.DataFrame | ModelInputs) -> np.ndarray:
        """Each row's cancer-type code as the model reads it (NaN: unknown)."""
        inputs = self.inputs(x)
        if "cancer_type" not in self.feature_names_:
            return np.full(len(inputs.index), np.nan)
        return inputs.as_built[:, self.feature_names_.index("cancer_type")].astype(np.float64)
