"""LightGBM's trees as arrays, and its one decision rule: which way a value goes at a split
(tree.h NumericalDecision / CategoricalDecision), written once, compiled, and read by every
engine that walks trees itself (`_leafshap`'s kernels, `_treeshap`'s split patterns).

A numerical split sends NaN to the zero side unless its missing type is NaN; a missing value
(NaN, or |v| <= kZeroThreshold for missing type Zero) goes the split's default way; other
values go left when v <= threshold, compared in double precision. A categorical split sends
a value left when its integer code is in the split's set; NaN, negative and unseen codes go
right."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["SplitTables", "goes_left", "goes_left_rows", "split_tables"]


@dataclass(frozen=True, slots=True)
class SplitTables:
    """Every split node of some trees: its feature, threshold, missing-value rule and (for a
    categorical split) its row of `cat_table`, whose last column is "invalid code"."""

    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    default_left: np.ndarray  # bool
    missing_nan: np.ndarray  # bool
    missing_zero: np.ndarray  # bool
    cat_of_node: np.ndarray  # int64: row of cat_table, -1 for a numerical split
    cat_table: np.ndarray  # bool (categorical splits, max code + 2)


def split_tables(nodes: list[dict]) -> SplitTables:
    """The tables of split nodes as `Booster.dump_model()` gives them, in order."""
    n_nodes = len(nodes)
    feature = np.zeros(n_nodes, dtype=np.int64)
    threshold = np.zeros(n_nodes)
    default_left = np.zeros(n_nodes, dtype=bool)
    missing_nan = np.zeros(n_nodes, dtype=bool)
    missing_zero = np.zeros(n_nodes, dtype=bool)
    cat_of_node = np.full(n_nodes, -1, dtype=np.int64)
    category_sets: list[list[int]] = []
    for n, node in enumerate(nodes):
        feature[n] = int(node["split_feature"])
        if node["decision_type"] == "==":
            cat_of_node[n] = len(category_sets)
            category_sets.append([int(c) for c in str(node["threshold"]).split("||")])
        else:
            threshold[n] = float(node["threshold"])
            default_left[n] = bool(node["default_left"])
            missing_nan[n] = node["missing_type"] == "NaN"
            missing_zero[n] = node["missing_type"] == "Zero"
    width = max((max(c) for c in category_sets), default=0) + 2  # last column: invalid
    cat_table = np.zeros((max(len(category_sets), 1), width), dtype=bool)
    for i, cats in enumerate(category_sets):
        cat_table[i, cats] = True
    return SplitTables(feature, threshold, default_left, missing_nan, missing_zero,
                       cat_of_node, cat_table)


@numba.njit(cache=True, nogil=True)
def goes_left(v, category, threshold, default_left, missing_nan, missing_zero,
              cat_table):  # pragma: no cover - compiled
    """Does value `v` (float64) go left at a split? The split's own values are passed as
    scalars (`category`: its row of `cat_table`, -1 for a numerical split): with the node
    tables themselves as arguments numba passes every array by value on each call, ~6x
    slower in the kernels' node loops; with scalars LLVM inlines it."""
    if category >= 0:
        if np.isnan(v) or v < 0 or v >= cat_table.shape[1] - 1:
            return False
        return cat_table[category, int(v)]
    nan = np.isnan(v)
    if nan and not missing_nan:
        v = 0.0
        nan = False
    missing = abs(v) <= 1e-35 if missing_zero else (nan and missing_nan)
    return default_left if missing else v <= threshold


@numba.njit(cache=True, nogil=True)
def _rows(values, n, threshold, default_left, missing_nan, missing_zero, cat_of_node,
          cat_table, out):  # pragma: no cover - compiled
    category, thr, dl = cat_of_node[n], threshold[n], default_left[n]
    mn, mz = missing_nan[n], missing_zero[n]
    for i in range(values.shape[0]):
        out[i] = goes_left(np.float64(values[i]), category, thr, dl, mn, mz, cat_table)


def goes_left_rows(values: np.ndarray, n: int, tables: SplitTables) -> np.ndarray:
    """`goes_left` of every value of a column at split node `n` of `tables`, (rows,) bool."""
    out = np.empty(len(values), dtype=bool)
    _rows(values, n, tables.threshold, tables.default_left, tables.missing_nan,
          tables.missing_zero, tables.cat_of_node, tables.cat_table, out)
    return out
