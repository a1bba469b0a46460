"""The explanation engine: exact TreeSHAP on every path, compiled prediction equal to LightGBM's."""

from __future__ import annotations

import numpy as np
import pytest

from organo_predict import ShapEngine
from organo_predict._explain._engine import DIRECT_SHAP_ROWS

from ..model.test_models import GENES, _model, _panel_era_cohort


@pytest.fixture(scope="module")
def fitted(liver_lung_bone):
    builder, model, x = liver_lung_bone
    return model, x


def _lightgbm_log_odds(model, inputs) -> np.ndarray:
    return np.column_stack([  # LightGBM's own predict, calibrated, organ by organ
        model.fits_[o].calibration[0] * (inputs.prior_logit[:, j] + model.fits_[o].booster
                                         .predict(inputs.data, raw_score=True))
        + model.fits_[o].calibration[1] for j, o in enumerate(model.organs_)])


def test_compiled_trees_predict_what_lightgbm_predicts(fitted) -> None:
    model, x = fitted
    inputs = model.inputs(x.iloc[:3000])
    engine = ShapEngine(model)
    np.testing.assert_array_equal(engine.decision_function(inputs),
                                  model.decision_function(inputs))  # not compiled: LightGBM
    assert engine.compile()
    np.testing.assert_allclose(engine.decision_function(inputs),
                               _lightgbm_log_odds(model, inputs), rtol=0, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 40, DIRECT_SHAP_ROWS + 1])  # compiled and per-pattern
def test_contributions_are_exact_and_equal_lightgbms_pred_contrib(fitted, rows: int) -> None:
    model, x = fitted
    part = x.iloc[:rows]
    inputs = model.inputs(part)
    engine = ShapEngine(model)
    log_odds = model.decision_function(inputs)
    every = engine.contributions_all(inputs)
    for j, organ in enumerate(model.organs_):
        contrib, baseline = engine.contributions(inputs, organ)
        np.testing.assert_allclose(baseline + contrib.sum(1), log_odds[:, j], atol=1e-9)
        np.testing.assert_allclose(every[organ][0], contrib, atol=1e-12)
        slope = model.fits_[organ].calibration[0]
        reference = model.fits_[organ].booster.predict(inputs.data, pred_contrib=True)
        np.testing.assert_allclose(contrib, slope * reference[:, :-1], atol=1e-9)


def test_grouped_contributions_are_sums_of_features(fitted) -> None:
    model, x = fitted
    groups = np.arange(len(model.feature_names_)) % 7
    engine = ShapEngine(model)
    flat, base = engine.contributions(x.iloc[:30], "LIVER")
    summed, base2 = engine.contributions(x.iloc[:30], "LIVER", groups, 7)
    np.testing.assert_allclose(summed, np.stack([flat[:, groups == g].sum(1)
                                                 for g in range(7)], axis=1), atol=1e-12)
    np.testing.assert_allclose(base, base2, atol=1e-12)


def test_an_engine_forgets_the_compiled_trees_of_an_earlier_fit() -> None:
    x, y, _ = _panel_era_cohort(n=2000)
    model = _model().fit(x, y)
    engine = ShapEngine(model)
    assert engine.compile()
    engine.decision_function(x)
    fewer = [c for c in x.columns if c not in GENES[:10]]
    model.set_params(features=fewer).fit(x, y)
    fresh = _model(features=fewer).fit(x, y)
    np.testing.assert_allclose(engine.decision_function(x), fresh.decision_function(x),
                               rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def with_interactions(msk_features):
    """Three organs on the embedded cohort's first 4,000 labelled patients, with the
    type-interaction columns offered to the trees."""
    from organo_predict import OrganotropismModel, labels_from_samples

    cohort, features = msk_features
    organs = ["LIVER", "LUNG", "BONE"]
    labels = labels_from_samples(cohort.samples)[organs]
    rows = np.flatnonzero(labels.notna().all(axis=1).to_numpy())[:4000]
    flags = [c for c in features.columns if c.startswith(("mut_", "amp_", "del_"))]
    model = OrganotropismModel(organs=organs, random_state=0, unprofiled_as_absent=flags,
                               type_interactions=60, n_estimators=150,
                               early_stopping_rounds=30).fit(features.iloc[rows],
                                                             labels.iloc[rows])
    return model, features.iloc[rows]


@pytest.mark.parametrize("rows", [1, 40, DIRECT_SHAP_ROWS + 1])  # compiled and per-pattern
def test_a_type_interaction_is_credited_to_its_flag_exactly(with_interactions, rows) -> None:
    model, x = with_interactions
    assert model.interactions_ and len(model.tree_feature_names_) == (
        len(model.feature_names_) + len(model.interactions_))
    used = {f for o in model.organs_ for f in
            model.fits_[o].booster.feature_name()
            if "__in_type_" in f and model.fits_[o].booster.feature_importance()[
                model.fits_[o].booster.feature_name().index(f)] > 0}
    assert used  # the trees split on some of them
    inputs = model.inputs(x.iloc[:rows])
    engine = ShapEngine(model)
    log_odds = model.decision_function(inputs)
    folded_of = model.tree_feature_of()
    for j, organ in enumerate(model.organs_):
        contrib, baseline = engine.contributions(inputs, organ)
        assert contrib.shape == (rows, len(model.feature_names_))
        np.testing.assert_allclose(baseline + contrib.sum(1), log_odds[:, j], atol=1e-9)
        slope = model.fits_[organ].calibration[0]
        reference = model.fits_[organ].booster.predict(inputs.data, pred_contrib=True)
        folded = np.zeros_like(contrib)
        for column, feature in enumerate(folded_of):
            folded[:, feature] += reference[:, column]
        np.testing.assert_allclose(contrib, slope * folded, atol=1e-9)


def test_a_bundle_keeps_the_type_interactions(with_interactions, tmp_path) -> None:
    from organo_predict import FeatureBuilder, load_bundle, save_bundle
    from organo_predict._knowledge._recipes import load_recipes

    model, x = with_interactions
    builder = FeatureBuilder()
    builder.feature_names_ = list(model.feature_names_)
    for key in ("genes_", "cna_genes_", "sv_genes_"):
        setattr(builder, key, [])
    builder.categories_ = {}
    builder.recipes_version_ = load_recipes().version
    save_bundle(builder, model, tmp_path / "bundle")
    _, loaded, _ = load_bundle(tmp_path / "bundle")
    assert loaded.interactions_ == model.interactions_
    np.testing.assert_array_equal(loaded.decision_function(x.iloc[:50]),
                                  model.decision_function(x.iloc[:50]))


def test_a_few_rows_before_compiling_come_from_lightgbm_equal_to_the_compiled_trees(
        luad_model) -> None:
    """One patient in a new process (`organo-predict explain`) is explained by LightGBM's
    pred_contrib without importing the compiled kernels; the numbers equal the compiled
    engine's to float precision; more rows compile the trees as before."""
    from organo_predict._explain._engine import FEW_ROWS

    _, model, x = luad_model
    rows = x.iloc[:FEW_ROWS]
    fresh = ShapEngine(model)
    direct = fresh.contributions_all(rows)
    assert not fresh._compiled  # nothing was built for a few rows
    compiled = ShapEngine(model)
    assert compiled.compile()
    for organ, (contrib, base) in compiled.contributions_all(rows).items():
        np.testing.assert_allclose(direct[organ][0], contrib, atol=1e-12)
        np.testing.assert_allclose(direct[organ][1], base, atol=1e-12)
    more = x.iloc[:FEW_ROWS + 1]
    fresh.contributions_all(more)
    assert fresh._compiled  # more rows than that compile, as before
