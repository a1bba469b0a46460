"""Loading a model: a bundle folder, an MLflow model folder, or a URI; clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from organo_predict import ModelError, load_model
from organo_predict._model._loading import DEFAULT_TRACKING_URI, configure_tracking, is_mlflow_uri

from .test_bundle import _bundle_pair


def test_a_bundle_folder_and_an_mlflow_model_folder_load_the_same_model(tmp_path: Path) -> None:
    path, model, x = _bundle_pair(tmp_path)
    loaded = load_model(str(path))
    assert loaded.info == {"source": "bundle"} and loaded.uri == str(path)
    np.testing.assert_array_equal(loaded.model.decision_function(x), model.decision_function(x))
    logged = tmp_path / "mlflow_model"
    shutil.copytree(path, logged / "artifacts" / "bundle")
    assert load_model(str(logged)).info == {"source": "mlflow model folder"}


def test_what_is_neither_a_bundle_nor_a_uri_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such bundle folder, and not an MLflow model URI"):
        load_model(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("uri, expected", [("models:/organotropism@champion", True),
                                           ("runs:/abc/model", True),
                                           ("s3://bucket/model", True),
                                           ("bundles/latest", False)])
def test_is_mlflow_uri(uri: str, expected: bool) -> None:
    assert is_mlflow_uri(uri) is expected


def test_tracking_defaults_to_a_local_sqlite_file_unless_the_environment_says(
        monkeypatch) -> None:
    import mlflow

    calls: list[str] = []  # recorded, not applied: MLflow's tracking URI is process-global
    monkeypatch.setattr(mlflow, "set_tracking_uri", calls.append)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    configure_tracking()
    assert calls == [DEFAULT_TRACKING_URI]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    configure_tracking()
    assert calls == [DEFAULT_TRACKING_URI]  # the environment's choice is left alone


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9/model", "https://example.org/m"])
def test_a_web_address_is_named_as_not_a_model(uri: str) -> None:
    # it said "not enough values to unpack (expected 2, got 1)"
    with pytest.raises(ModelError, match="a web address is not a model. Set "
                                         "MLFLOW_TRACKING_URI to the MLflow server"):
        load_model(uri)


def test_no_registry_here_is_said_and_none_is_created(tmp_path, monkeypatch) -> None:
    # load_model() outside a project silently created an empty ./mlflow.db, then said
    # "run run_experiment() first" without saying where it looked
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ModelError, match=r"no MLflow registry at .*mlflow.db \(none was "
                                         r"created\)\. Run run_experiment\(\) in this folder"):
        load_model()
    assert not (tmp_path / "mlflow.db").exists()
