"""Load a trained model for scoring, explaining or serving: from the MLflow registry (the
default `models:/organotropism@champion`) or from a bundle folder. IO edge; no pickle on the
path: the pyfunc is models-from-code and the bundle is LightGBM text + JSON with checksums."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import ModelError, braced
from ._features import FeatureBuilder
from ._models import OrganotropismModel

__all__ = ["DEFAULT_MODEL_URI", "DEFAULT_TRACKING_URI", "LoadedModel", "configure_tracking",
           "is_mlflow_uri", "load_model"]

DEFAULT_MODEL_URI = "models:/organotropism@champion"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


@dataclass
class LoadedModel:
    """A feature builder and model ready to use, with where they came from."""

    builder: FeatureBuilder
    model: OrganotropismModel
    metadata: dict[str, object]
    uri: str
    info: dict[str, object] = field(default_factory=dict)  # registry name, version, alias


def configure_tracking() -> None:
    """MLflow quiet (no log chatter, no per-file download bars), and tracking in ./mlflow.db
    unless MLFLOW_TRACKING_URI says otherwise."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        mlflow.set_tracking_uri(DEFAULT_TRACKING_URI)


def is_mlflow_uri(uri: str) -> bool:
    """models:/..., runs:/... or any scheme://... (as opposed to a local bundle folder)."""
    return "://" in uri or uri.startswith(("models:/", "runs:/"))


def load_model(uri: str | None = None) -> LoadedModel:
    """Load `uri`: a bundle folder, any MLflow model URI, or the registered champion."""
    from ._bundle import load_bundle

    uri = uri or DEFAULT_MODEL_URI
    local = Path(uri)
    if local.is_dir() and (local / "manifest.json").is_file():
        builder, model, metadata = load_bundle(local)
        return LoadedModel(builder, model, metadata, uri, {"source": "bundle"})
    if local.is_dir() and (local / "artifacts" / "bundle" / "manifest.json").is_file():
        builder, model, metadata = load_bundle(local / "artifacts" / "bundle")
        return LoadedModel(builder, model, metadata, uri, {"source": "mlflow model folder"})
    if not is_mlflow_uri(uri):
        raise ModelError(f"model {uri!r}: no such bundle folder, and not an MLflow model URI "
                         "(models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN/model)")
    configure_tracking()
    import mlflow

    info: dict[str, object] = {"source": "mlflow", "tracking_uri": mlflow.get_tracking_uri()}
    try:
        if uri.startswith("models:/"):
            info.update(_registry_info(uri))
        pyfunc = mlflow.pyfunc.load_model(uri)
    except ModelError:
        raise
    except Exception as exc:  # MLflow raises many types; the user needs one clear message
        hint = (" Run {run_experiment} first, or pass {model}a model URI or bundle folder."
                if uri == DEFAULT_MODEL_URI else "")
        raise ModelError.about(f"cannot load model {braced(repr(uri))} from "
                               f"{braced(mlflow.get_tracking_uri())}: "
                               f"{braced(str(exc).splitlines()[0])}." + hint) from None
    inner = pyfunc.unwrap_python_model()
    return LoadedModel(inner.builder, inner.model, inner.metadata, uri, info)


def _registry_info(uri: str) -> dict[str, object]:
    from mlflow import MlflowClient

    ref = uri[len("models:/"):]
    client = MlflowClient()
    if "@" in ref:
        name, alias = ref.split("@", 1)
        version = client.get_model_version_by_alias(name, alias)
        return {"name": name, "alias": alias, "version": str(version.version),
                "run_id": version.run_id}
    name, _, version_text = ref.partition("/")
    return {"name": name, "version": version_text, "alias": None}
