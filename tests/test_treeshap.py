"""The per-pattern and the compiled TreeSHAP give LightGBM's own pred_contrib; the compiled
tree walker gives its raw scores."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from organo_predict._treeshap import LeafShap, TreeShap


@pytest.fixture(scope="module")
def booster_and_data() -> tuple[lgb.Booster, np.ndarray]:
    """Binary, categorical, continuous and missing values: every kind of split LightGBM makes."""
    rng = np.random.default_rng(0)
    n = 3000
    binary = (rng.random((n, 6)) < 0.15).astype(np.float32)
    binary[rng.random((n, 6)) < 0.2] = np.nan  # off the panel
    category = rng.integers(0, 7, n).astype(np.float32)
    age = rng.normal(60, 10, n).astype(np.float32)
    age[rng.random(n) < 0.05] = np.nan
    zeroish = np.where(rng.random(n) < 0.5, 0.0, rng.random(n)).astype(np.float32)
    x = np.column_stack([binary, category, age, zeroish])
    logit = (np.nan_to_num(binary[:, 0]) * 1.5 - np.nan_to_num(binary[:, 1])
             + (category == 3) + 0.03 * np.nan_to_num(age - 60) + zeroish)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    params = {"objective": "binary", "num_leaves": 15, "max_depth": 5, "verbosity": -1,
              "min_data_in_leaf": 20, "seed": 0, "zero_as_missing": False}
    data = lgb.Dataset(x, y, categorical_feature=[6], params=params)
    booster = lgb.train(params, data, num_boost_round=40)
    return booster, x


def test_per_pattern_treeshap_equals_pred_contrib(booster_and_data) -> None:
    booster, x = booster_and_data
    expected = booster.predict(x, pred_contrib=True)
    got = TreeShap(booster).contributions(x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


def test_grouped_contributions_sum_the_groups(booster_and_data) -> None:
    booster, x = booster_and_data
    expected = booster.predict(x, pred_contrib=True)
    groups = np.array([0, 0, 1, 1, 2, 2, 3, 4, 4])
    got = TreeShap(booster).contributions(x, groups, 5)
    assert got.shape == (len(x), 6)
    np.testing.assert_allclose(got[:, 0], expected[:, :2].sum(1), atol=1e-10)
    np.testing.assert_allclose(got[:, 4], expected[:, 7:9].sum(1), atol=1e-10)
    np.testing.assert_allclose(got[:, -1], expected[:, -1], atol=1e-10)


def test_empty_input(booster_and_data) -> None:
    booster, x = booster_and_data
    assert TreeShap(booster).contributions(x[:0]).shape == (0, x.shape[1] + 1)


def test_leaf_shap_equals_pred_contrib_and_raw_score_across_boosters(booster_and_data) -> None:
    booster, x = booster_and_data
    y = (np.nan_to_num(x[:, 1]) + (x[:, 6] == 2) > 0.5).astype(float)
    params = {"objective": "binary", "num_leaves": 7, "verbosity": -1, "seed": 1,
              "min_data_in_leaf": 20, "zero_as_missing": True}  # the other missing rule
    other = lgb.train(params, lgb.Dataset(x, y, categorical_feature=[6], params=params),
                      num_boost_round=25)
    engine = LeafShap([booster, other])
    assert engine.supported
    raw, contrib = engine.explain(x[:300])
    for b, model in enumerate([booster, other]):
        np.testing.assert_allclose(raw[:, b], model.predict(x[:300], raw_score=True),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(contrib[:, b], model.predict(x[:300], pred_contrib=True),
                                   rtol=0, atol=1e-12)


def test_leaf_shap_groups_subsets_and_raw_only(booster_and_data) -> None:
    booster, x = booster_and_data
    engine = LeafShap([booster, booster])
    groups = np.array([0, 0, 1, 1, 2, 2, 3, 4, 4])
    expected = booster.predict(x[:50], pred_contrib=True)
    raw, contrib = engine.explain(x[:50], groups, 5, boosters=[1])
    assert contrib.shape == (50, 2, 6)
    np.testing.assert_allclose(contrib[:, 1, 0], expected[:, :2].sum(1), atol=1e-12)
    np.testing.assert_allclose(contrib[:, 1, -1], expected[:, -1], atol=1e-12)
    assert not contrib[:, 0].any() and not raw[:, 0].any()  # booster 0 was not asked for
    raw_only = engine.predict_raw(x[:50])
    np.testing.assert_allclose(raw_only[:, 0], booster.predict(x[:50], raw_score=True),
                               atol=1e-12)
    empty_raw, empty = engine.explain(x[:0])
    assert empty_raw.shape == (0, 2) and empty.shape == (0, 2, x.shape[1] + 1)
