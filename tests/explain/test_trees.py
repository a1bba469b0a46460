"""LightGBM's decision rule, written once: missing values, zero-as-missing, categories, and
agreement with LightGBM's own routing on a real booster."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from organo_predict._explain._trees import goes_left_rows, split_tables

NAN = float("nan")


def _node(missing: str, default_left: bool, threshold: float = 0.5) -> dict:
    return {"split_feature": 0, "decision_type": "<=", "threshold": threshold,
            "default_left": default_left, "missing_type": missing}


def test_numerical_splits_route_missing_values_by_their_missing_type() -> None:
    tables = split_tables([_node("NaN", False), _node("Zero", True), _node("None", False)])
    values = np.array([NAN, 0.0, 0.25, 0.5, 0.75, 1e-40], dtype=np.float64)
    # missing type NaN: NaN goes the default way (right), everything else by the threshold
    assert goes_left_rows(values, 0, tables).tolist() == [False, True, True, True, False, True]
    # Zero: NaN reads as 0, and 0 (|v| <= 1e-35) is missing, so both go the default way (left)
    assert goes_left_rows(values, 1, tables).tolist() == [True, True, True, True, False, True]
    # None: NaN reads as 0, which is <= 0.5
    assert goes_left_rows(values, 2, tables).tolist() == [True, True, True, True, False, True]


def test_categorical_splits_send_listed_codes_left_and_the_rest_right() -> None:
    tables = split_tables([{"split_feature": 0, "decision_type": "==", "threshold": "1||3"}])
    values = np.array([1, 3, 2, 0, 7, -1, NAN], dtype=np.float32)
    assert goes_left_rows(values, 0, tables).tolist() == [True, True, False, False, False,
                                                          False, False]


def test_the_rule_routes_every_row_as_lightgbm_does() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 3)).astype(np.float32)
    x[:, 2] = rng.integers(0, 6, 3000)
    x[rng.random(3000) < 0.2, 0] = np.nan
    x[rng.random(3000) < 0.2, 1] = 0.0
    y = (np.nan_to_num(x[:, 0]) + (x[:, 2] % 2) + rng.normal(size=3000) > 0.5).astype(float)
    booster = lgb.train({"objective": "binary", "num_leaves": 8, "verbosity": -1,
                         "min_data_in_leaf": 20, "zero_as_missing": False},
                        lgb.Dataset(x, y, categorical_feature=[2]), num_boost_round=5)
    tree = booster.dump_model()["tree_info"][0]["tree_structure"]
    leaf = np.empty(len(x), dtype=np.int64)
    for row in range(len(x)):  # walk tree 0 with the rule, node by node
        node = tree
        while "split_feature" in node:
            tables = split_tables([node])
            left = goes_left_rows(x[row:row + 1, node["split_feature"]], 0, tables)[0]
            node = node["left_child" if left else "right_child"]
        leaf[row] = node["leaf_index"]
    np.testing.assert_array_equal(leaf, booster.predict(x, pred_leaf=True)[:, 0])
