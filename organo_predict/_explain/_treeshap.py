"""Exact TreeSHAP of a LightGBM booster for cohorts, pure computation (`_leafshap` does a
few rows and prediction, compiled).

`TreeShap` (cohorts): path-dependent TreeSHAP gives a row of one tree contributions that
depend only on which way the row goes at every split of that tree. Genomic features are
mostly binary and sparse, so across a cohort a 15-leaf tree sees a few dozen distinct
patterns, not thousands of rows. We find each tree's patterns with LightGBM's decision rule
(`_trees`, compiled), ask LightGBM's own `pred_contrib` for one representative row per
pattern, and scatter the result: the numbers are LightGBM's, the work is divided by the
duplication.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from ._trees import SplitTables, goes_left_rows, split_tables

__all__ = ["TreeShap"]


def _split_nodes(tree: dict) -> list[dict]:
    """A dumped tree's split nodes, depth first."""
    out: list[dict] = []
    stack = [tree["tree_structure"]]
    while stack:
        node = stack.pop()
        if "split_feature" not in node:
            continue
        out.append(node)
        stack += [node["left_child"], node["right_child"]]
    return out


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
        self.trees: list[SplitTables] = [split_tables(_split_nodes(t))
                                         for t in dump["tree_info"]]
        self.tree_features: list[np.ndarray] = [np.unique(tables.feature)
                                                for tables in self.trees]

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
        for t, tables in enumerate(self.trees):
            n_splits = len(tables.feature)
            if not n_splits:  # a stump: only the expected value moves
                out[:, -1] += self.booster.predict(x32[:1], start_iteration=t, num_iteration=1,
                                                   pred_contrib=True)[0, -1]
                continue
            if n_splits <= 20:
                bits = np.zeros(n, dtype=np.int32)
                for i, f in enumerate(tables.feature):
                    bits |= goes_left_rows(column_of[f], i, tables).astype(np.int32) << i
                # distinct patterns without sorting: a dense table of 2**splits slots
                first_of = np.full(1 << n_splits, n, dtype=np.int64)
                first_of[bits[::-1]] = rows[::-1]  # the last write wins: the first row
                present = np.flatnonzero(first_of < n)
                slot = np.empty(1 << n_splits, dtype=np.int64)
                slot[present] = np.arange(len(present))
                first, inverse = first_of[present], slot[bits]
            else:
                pattern = np.stack([goes_left_rows(column_of[f], i, tables)
                                    for i, f in enumerate(tables.feature)], axis=1)
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
