"""The per-pattern TreeSHAP gives LightGBM's own pred_contrib."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from organo_predict._explain._treeshap import TreeShap


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
