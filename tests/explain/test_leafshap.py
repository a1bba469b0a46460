"""Compiled all-booster TreeSHAP and prediction equal LightGBM's."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from organo_predict._explain._leafshap import LeafShap

from .test_treeshap import booster_and_data  # noqa: F401 - the fixture


def test_leaf_shap_equals_pred_contrib_and_raw_score_across_boosters(booster_and_data) -> None:  # noqa: F811
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


def test_leaf_shap_groups_subsets_and_raw_only(booster_and_data) -> None:  # noqa: F811
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


def test_a_leaf_shap_read_back_from_its_arrays_gives_the_same_numbers(tmp_path,
                                                                      booster_and_data) -> None:  # noqa: F811
    # what the per-user cache stores and reads: bit-identical raw scores and TreeSHAP
    booster, x = booster_and_data
    engine = LeafShap([booster, booster])
    path = tmp_path / "engine.npz"
    np.savez(path, **engine.to_arrays())
    with np.load(path, allow_pickle=False) as stored:
        again = LeafShap.from_arrays({k: stored[k] for k in stored.files})
    for a, b in zip(engine.explain(x[:50]), again.explain(x[:50]), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(engine.predict_raw(x), again.predict_raw(x))
    assert (again.n_boosters, again.supported) == (2, True)
