"""Model bundles: LightGBM text + JSON, checksummed; older bundles load as they were trained."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from organo_predict import FeatureBuilder, ModelError, OrganotropismModel, load_bundle, save_bundle

from .test_models import GENES, NEW_PANEL_ONLY, _model, _panel_era_cohort, _summaries_cohort


def _bundle_pair(tmp_path: Path) -> tuple[Path, OrganotropismModel, pd.DataFrame]:
    x, y, _ = _panel_era_cohort(n=1500)
    model = _model(unprofiled_as_absent=GENES).fit(x, y)
    builder = FeatureBuilder()
    builder.genes_, builder.cna_genes_, builder.sv_genes_ = [], [], []
    builder.categories_ = {"cancer_type": ["A"], "subtype": ["a"], "primary_site": []}
    builder.feature_names_ = list(x.columns)
    builder.recipes_version_ = "test"
    return save_bundle(builder, model, tmp_path / "bundle"), model, x


def test_bundle_keeps_how_unprofiled_genes_are_read(tmp_path: Path) -> None:
    path, model, x = _bundle_pair(tmp_path)
    _, loaded, _ = load_bundle(path)
    assert list(loaded.unprofiled_as_absent) == GENES
    np.testing.assert_allclose(loaded.decision_function(x), model.decision_function(x))


def test_bundle_written_before_the_policy_loads_as_it_was_trained(tmp_path: Path) -> None:
    path, _, x = _bundle_pair(tmp_path)
    state = json.loads((path / "model.json").read_text())
    del state["params"]["unprofiled_as_absent"]
    (path / "model.json").write_text(json.dumps(state))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["model.json"] = hashlib.sha256(
        (path / "model.json").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    _, loaded, _ = load_bundle(path)
    assert tuple(loaded.unprofiled_as_absent) == ()
    nan_rows = x[NEW_PANEL_ONLY[0]].isna().to_numpy()
    assert loaded.inputs(x).data[nan_rows].shape[0] > 0
    assert np.isnan(loaded.inputs(x).data[nan_rows]).any()  # NaN reaches the trees, as before


def test_summary_medians_survive_the_bundle_and_older_bundles_load_without(tmp_path) -> None:
    x, y = _summaries_cohort(n=1500)
    model = _model(missing_as_type_median=("aneuploidy",)).fit(x, y)
    builder = FeatureBuilder()
    builder.genes_, builder.cna_genes_, builder.sv_genes_ = [], [], []
    builder.categories_, builder.feature_names_ = {}, list(x.columns)
    builder.recipes_version_ = "test"
    path = save_bundle(builder, model, tmp_path / "b")
    _, again, _ = load_bundle(path)
    dropped = x.assign(aneuploidy=np.nan)
    np.testing.assert_array_equal(again.decision_function(dropped),
                                  model.decision_function(dropped))
    state = json.loads((path / "model.json").read_text())  # as written before the policy
    del state["summary_medians_"]
    del state["params"]["missing_as_type_median"]
    (path / "model.json").write_text(json.dumps(state))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["model.json"] = hashlib.sha256((path / "model.json").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    _, old, _ = load_bundle(path)
    assert old.missing_as_type_median == ()
    np.testing.assert_array_equal(old.decision_function(dropped),
                                  old.decision_function(dropped.fillna(0)))


def test_a_tampered_file_or_a_missing_one_refuses_to_load(tmp_path: Path) -> None:
    path, _, _ = _bundle_pair(tmp_path)
    booster = next((path / "boosters").glob("*.txt"))
    booster.write_text(booster.read_text().replace("leaf_value=", "leaf_value=1", 1))
    with pytest.raises(ModelError, match="checksum mismatch for boosters/"):
        load_bundle(path)
    booster.unlink()
    with pytest.raises(ModelError, match="listed in the manifest is missing"):
        load_bundle(path)
    with pytest.raises(ModelError, match="not a model bundle"):
        load_bundle(tmp_path)


def test_saving_over_a_bundle_replaces_it_whole(tmp_path: Path) -> None:
    path, model, x = _bundle_pair(tmp_path)
    builder, _, _ = load_bundle(path)
    (path / "stale.txt").write_text("from an earlier save")
    save_bundle(builder, model, path)
    assert not (path / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_bundle_built_with_other_recipes_says_so_when_loaded(tmp_path: Path) -> None:
    from organo_predict import OrganoPredictWarning
    from organo_predict._knowledge._recipes import load_recipes

    path, _, _ = _bundle_pair(tmp_path)  # recipes version "test"
    with pytest.warns(OrganoPredictWarning, match=r"recipes version test, the installed "
                                                  rf"features/markers.toml is "
                                                  rf"{load_recipes().version}"):
        load_bundle(path)


def _rehash(path: Path, manifest: dict) -> None:
    manifest["files"] = {name: hashlib.sha256((path / name).read_bytes()).hexdigest()
                         for name in manifest["files"]}
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_the_manifest_must_list_exactly_the_bundles_files(tmp_path: Path) -> None:
    # dropping a booster's entry and swapping its file used to load without a word
    path, _, _ = _bundle_pair(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    booster = next(n for n in manifest["files"] if n.startswith("boosters/"))
    del manifest["files"][booster]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=f"file {booster} is not in the manifest"):
        load_bundle(path)
    (path / booster).unlink()  # and gone altogether: the model still names it
    with pytest.raises(ModelError, match=f"booster {booster} is not in the manifest"):
        load_bundle(path)


@pytest.mark.parametrize("text", ["", '{"format": "organo-predict-bundle/1", "fil',
                                  "[1, 2]", '{"format": "organo-predict-bundle/1", "files": 3}',
                                  '{"format": "organo-predict-bundle/1", "files": {"a": "x"}}'])
def test_a_truncated_or_edited_manifest_is_a_model_error(tmp_path: Path, text: str) -> None:
    path, _, _ = _bundle_pair(tmp_path)
    (path / "manifest.json").write_text(text)
    with pytest.raises(ModelError, match="manifest|bundle format"):
        load_bundle(path)


@pytest.mark.parametrize("edit", [
    lambda t: t.replace("left_child=", "left_child=99 ", 1),
    lambda t: t[: len(t) // 2],
    lambda t: t.replace("num_leaves=", "num_leaves=9", 1),
    lambda t: t.replace("leaf_value=", "leaf_value=abc ", 1),
    lambda t: t.replace("split_feature=", "split_feature=9999 ", 1),
])
def test_an_edited_booster_with_its_hash_updated_is_refused_not_a_crash(tmp_path: Path,
                                                                        edit) -> None:
    # each of these aborted the process inside LightGBM (exit 134, no message)
    path, _, _ = _bundle_pair(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    booster = path / next(n for n in manifest["files"] if n.startswith("boosters/"))
    booster.write_text(edit(booster.read_text()))
    _rehash(path, manifest)
    with pytest.raises(ModelError, match="not a LightGBM model LightGBM can read"):
        load_bundle(path)


def test_a_bundle_with_broken_json_content_is_a_model_error(tmp_path: Path) -> None:
    path, _, _ = _bundle_pair(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "model.json").write_text('{"params": {}}')
    _rehash(path, manifest)
    with pytest.raises(ModelError, match="content is not what this version writes"):
        load_bundle(path)


def test_the_probability_intervals_travel_with_the_bundle(tmp_path: Path) -> None:
    """Saved and loaded, the Venn-ABERS tables give the same bounds; a bundle written
    without them (before they existed) loads with none."""
    from organo_predict import ProbabilityIntervals

    _, model, x = _bundle_pair(tmp_path)
    proba = model.predict_proba(x)
    rng = np.random.default_rng(0)
    y = pd.DataFrame(rng.random(proba.shape) < proba.to_numpy(), index=proba.index,
                     columns=proba.columns).astype(float)
    with_bounds = model.with_intervals(
        ProbabilityIntervals(min_patients=50).fit(proba, y, model.cancer_type_codes(x)))
    builder = load_bundle(tmp_path / "bundle")[0]
    path = save_bundle(builder, with_bounds, tmp_path / "with")
    assert "intervals.json" in json.loads((path / "manifest.json").read_text())["files"]
    _, loaded, _ = load_bundle(path)
    for before, after in zip(with_bounds.predict_interval(x), loaded.predict_interval(x),
                             strict=True):
        pd.testing.assert_frame_equal(before, after)
    assert load_bundle(tmp_path / "bundle")[1].predict_interval(x) is None
