"""Exact TreeSHAP of a LightGBM booster for cohorts, pure computation (`_leafshap` does a
few rows and prediction, compiled).

`TreeShap` (cohorts): path-dependent TreeSHAP gives a row of one tree contributions that
depend only on which way the row goes at every split of that tree. Genomic features are
mostly binary and sparse, so across a cohort a 15-leaf tree sees a few dozen distinct
patterns, not thousands of rows. We compute each tree's patterns with numpy, ask LightGBM's
own `pred_contrib` for one representative row per pattern, and scatter the result: the
numbers are LightGBM's, the work is divided by the duplication.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

__all__ = ["TreeShap"]

_ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass(frozen=True, slots=True)
class _Split:
    feature: int
    threshold: np.float64  # a NumPy double: float32 values are compared in double precision
    categories: frozenset[int] | None  # categorical split: codes that go left
    default_left: bool
    missing: str  # "None", "Zero" or "NaN"


def _splits(tree: dict) -> list[_Split]:
    out: list[_Split] = []
    stack = [tree["tree_structure"]]
    while stack:
        node = stack.pop()
        if "split_feature" not in node:
            continue
        if node["decision_type"] == "==":
            cats = frozenset(int(c) for c in str(node["threshold"]).split("||"))
            out.append(_Split(int(node["split_feature"]), np.float64(0.0), cats, False, "None"))
        else:
            out.append(_Split(int(node["split_feature"]), np.float64(node["threshold"]), None,
                              bool(node["default_left"]), str(node["missing_type"])))
        stack += [node["left_child"], node["right_child"]]
    return out


def _goes_left(split: _Split, values: np.ndarray) -> np.ndarray:
    """LightGBM's decision rule (tree.h NumericalDecision / CategoricalDecision)."""
    nan = np.isnan(values)
    if split.categories is not None:
        codes = np.where(nan, -1, values).astype(np.int64)
        table = np.zeros(max(split.categories) + 2, dtype=bool)  # last slot: out of range
        table[list(split.categories)] = True
        return table[np.where((codes >= 0) & (codes < len(table) - 1), codes, -1)]
    if split.missing != "NaN":
        values = np.where(nan, np.float32(0.0), values)
        nan = np.zeros_like(nan)
    missing = np.abs(values) <= _ZERO if split.missing == "Zero" else nan
    return np.where(missing, split.default_left, values <= split.threshold)


class TreeShap:
    """Exact per-feature TreeSHAP of `booster` (what `pred_contrib=True` returns), faster.

    `contributions(x)` returns (n, n_features + 1): features, then the expected value.
    `contributions(x, groups, n_groups)` sums features into groups on the fly (feature j goes
    to column `groups[j]`; the expected value is the last column), so explaining a large
    chunk never holds the dense (n, n_features) matrix.
    """

    def __init__(self, booster: lgb.Booster) -> None:
        self.booster = booster
        dump = booster.dump_model()
        self.n_features = int(dump["max_feature_idx"]) + 1
        self.trees: list[list[_Split]] = [_splits(t) for t in dump["tree_info"]]
        self.tree_features: list[np.ndarray] = [
            np.unique(np.array([s.feature for s in splits], dtype=np.int64))
            for splits in self.trees]

    def contributions(self, x: np.ndarray, groups: np.ndarray | None = None,
                      n_groups: int | None = None,
                      columns: np.ndarray | None = None) -> np.ndarray:
        """`columns`: optionally the same data column-major, read for the split tests."""
        x32 = np.ascontiguousarray(x, dtype=np.float32)  # row gathers below need C order
        n = len(x32)
        if groups is None:
            groups, n_groups = np.arange(self.n_features), self.n_features
        out = np.zeros((n, n_groups + 1), order="F")  # column adds below stay contiguous
        if n == 0 or not self.trees:
            return out
        source = x32 if columns is None else columns
        column_of = {f: source[:, f] for f in np.unique(np.concatenate(self.tree_features))}
        rows = np.arange(n)
        for t, splits in enumerate(self.trees):
            if not splits:  # a stump: only the expected value moves
                out[:, -1] += self.booster.predict(x32[:1], start_iteration=t, num_iteration=1,
                                                   pred_contrib=True)[0, -1]
                continue
            if len(splits) <= 20:
                bits = np.zeros(n, dtype=np.int32)
                for i, split in enumerate(splits):
                    bits |= _goes_left(split, column_of[split.feature]).astype(np.int32) << i
                # distinct patterns without sorting: a dense table of 2**splits slots
                first_of = np.full(1 << len(splits), n, dtype=np.int64)
                first_of[bits[::-1]] = rows[::-1]  # the last write wins: the first row
                present = np.flatnonzero(first_of < n)
                slot = np.empty(1 << len(splits), dtype=np.int64)
                slot[present] = np.arange(len(present))
                first, inverse = first_of[present], slot[bits]
            else:
                pattern = np.stack([_goes_left(s, column_of[s.feature]) for s in splits], axis=1)
                _, first, inverse = np.unique(pattern, axis=0, return_index=True,
                                              return_inverse=True)
                inverse = np.ravel(inverse)
            rep = self.booster.predict(x32[first], start_iteration=t, num_iteration=1,
                                       pred_contrib=True)
            for f in self.tree_features[t]:
                out[:, groups[f]] += rep[:, f][inverse]
            out[:, -1] += rep[0, -1]
        return out


# --------------------------------------------------------------------------- compiled boosters
