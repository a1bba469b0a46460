"""Load a trained model for scoring, explaining or serving: from the MLflow registry (the
default `models:/organotropism@champion`) or from a bundle folder. IO edge; no pickle on the
path: the pyfunc is models-from-code and the bundle is LightGBM text + JSON with checksums."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .._base._errors import ModelError, OrganoPredictError, braced

if TYPE_CHECKING:  # the model's classes load with the model, not with this module
    from .._features._builder import FeatureBuilder
    from ._models import OrganotropismModel

__all__ = ["DEFAULT_MODEL_URI", "DEFAULT_TRACKING_URI", "LoadedModel", "configure_tracking",
           "is_mlflow_uri", "load_metadata", "load_model"]

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


def _tracking_uri() -> str:
    """The tracking store this process logs to and reads from (MLflow's own rule)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def _sqlite_store(tracking: str) -> Path | None:
    """The database file of a `sqlite:///PATH` tracking URI (relative to the working
    folder, as MLflow reads it), else None."""
    from urllib.parse import unquote

    prefix = "sqlite:///"
    return Path(unquote(tracking[len(prefix):])) if tracking.startswith(prefix) else None


def check_tracking_writable(otherwise: str = "pass --no-mlflow") -> None:
    """OrganoPredictError, before any work, if the tracking store this process would log to
    is a local SQLite file (or folder) it cannot write, or its artifact folder cannot be
    created or written: a read-only mlflow.db failed only after the whole training (and left
    the report folder without metrics.json). Other stores (a server) are not probed."""
    from urllib.parse import unquote, urlparse

    uri = _tracking_uri()
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        store = _sqlite_store(uri)
        targets = [store, store.parent / "mlruns"] if store is not None and store.name else []
    elif parsed.scheme in ("", "file"):
        targets = [Path(unquote(parsed.path))]
    else:
        return
    for target in targets:
        existing = target if target.exists() else next(
            (p for p in target.absolute().parents if p.exists()), Path("/"))
        # what is missing of the path is created under `existing`, which must be a folder
        folder = existing if existing.is_dir() or existing == target else None
        if folder is not None and not folder.is_dir():
            folder = folder.parent
        if folder is None or not (os.access(existing, os.W_OK)
                                  and os.access(folder, os.W_OK | os.X_OK)):
            raise OrganoPredictError(
                f"the MLflow tracking store {uri} cannot be written ({existing} is "
                f"{'read-only' if folder is not None else 'a file, not a folder'}): "
                f"make it writable, set MLFLOW_TRACKING_URI to another store, or {otherwise}")


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
    if uri.startswith(("http://", "https://")):
        raise ModelError.about(f"model {braced(repr(uri))}: a web address is not a model. Set "
                               "MLFLOW_TRACKING_URI to the MLflow server and pass "
                               "{model}models:/NAME@ALIAS, or download the model folder and "
                               "pass its path")
    fast = _from_local_registry(uri)
    if fast is not None:
        return fast
    database = _sqlite_store(_tracking_uri())
    # MLflow would create an empty database, then not find the model in it
    if database is not None and uri.startswith("models:/") and not database.is_file():
        raise ModelError.about(
            f"model {braced(repr(uri))}: no MLflow registry at {braced(database.absolute())}"
            " (none was created). Run {run_experiment} in this folder, set "
            "MLFLOW_TRACKING_URI to the registry, or pass {model}a bundle folder.")
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
        hint = _moved_home_hint(uri) or (
            " Run {run_experiment} first, or pass {model}a model URI or bundle folder."
            if uri == DEFAULT_MODEL_URI else "")
        raise ModelError.about(f"cannot load model {braced(repr(uri))} from "
                               f"{braced(mlflow.get_tracking_uri())}: "
                               f"{braced(str(exc).splitlines()[0])}." + hint) from None
    inner = pyfunc.unwrap_python_model()
    return LoadedModel(inner.builder, inner.model, inner.metadata, uri, info)


def _from_local_registry(uri: str) -> LoadedModel | None:
    """`models:/NAME@ALIAS` or `models:/NAME/VERSION` read straight from a local SQLite
    registry whose artifacts are on this machine, without importing MLflow (2.7 s) or going
    through its download (`_local_registry_bundle`); the bundle's every file checked
    against its manifest. None whenever that path does not apply: the caller then asks
    MLflow, which is the reference."""
    from ._bundle import load_bundle

    found = _local_registry_bundle(uri)
    if found is None:
        return None
    folder, info = found
    builder, model, metadata = load_bundle(folder)  # checksums: a changed file is refused
    return LoadedModel(builder, model, metadata, uri, info)


def load_metadata(uri: str | None = None) -> dict:
    """The metadata a model travels with (cohort fingerprint, mechanism table, ...), read
    from a bundle folder or a local registry without building the model, its manifest
    checked; any other URI through `load_model`."""
    from ._manifest import read_metadata

    uri = uri or DEFAULT_MODEL_URI
    local = Path(uri)
    for folder in (local, local / "artifacts" / "bundle"):
        if folder.is_dir() and (folder / "manifest.json").is_file():
            return read_metadata(folder)
    found = _local_registry_bundle(uri)
    return read_metadata(found[0]) if found is not None else load_model(uri).metadata


def _local_registry_bundle(uri: str) -> tuple[Path, dict[str, object]] | None:
    """Where a `models:/` URI's logged bundle lies when the tracking store is a local
    SQLite registry with its artifacts on this machine, and the model's identity: the alias
    resolved in the registry's own tables at every call (so a moved alias is followed).
    None whenever anything is not as expected (another store, another schema, a remote or
    missing artifact, a version not READY)."""
    import sqlite3
    from urllib.parse import unquote, urlparse

    tracking = _tracking_uri()
    database = _sqlite_store(tracking)
    if database is None or not uri.startswith("models:/"):
        return None
    ref = uri[len("models:/"):]
    name, alias = ref.split("@", 1) if "@" in ref else (ref.partition("/")[0], None)
    version = None if alias is not None else ref.partition("/")[2]
    if not database.is_file() or (version is not None and not version.isdigit()):
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True,
                                                timeout=5)) as db:
            if alias is not None:
                rows = db.execute("SELECT version FROM registered_model_aliases "
                                  "WHERE name = ? AND alias = ?", (name, alias)).fetchall()
                if len(rows) != 1:
                    return None
                version = str(rows[0][0])
            rows = db.execute("SELECT run_id, storage_location, status FROM model_versions "
                              "WHERE name = ? AND version = ?", (name, int(version))).fetchall()
    except (sqlite3.Error, ValueError):
        return None
    if len(rows) != 1 or rows[0][2] != "READY":
        return None
    run_id, location, _ = rows[0]
    where = urlparse(location or "")
    folder = Path(unquote(where.path)) / "artifacts" / "bundle"
    if where.scheme not in ("", "file") or not (folder / "manifest.json").is_file():
        return None
    return folder, {"source": "mlflow", "tracking_uri": tracking, "name": name,
                    "alias": alias, "version": version, "run_id": run_id}


def _moved_home_hint(uri: str) -> str:
    """When the registry knows the model but its run's artifacts are in a local folder that
    no longer exists (the MLflow home was moved or copied: MLflow keeps absolute artifact
    paths), say so; else "" (the lookup's own failure is not the user's problem here)."""
    from urllib.parse import unquote, urlparse

    from mlflow import MlflowClient

    try:
        client = MlflowClient()
        if uri.startswith("models:/"):
            run_id = str(_registry_info(uri)["run_id"] or "")
        elif uri.startswith("runs:/"):
            run_id = uri[len("runs:/"):].split("/", 1)[0]
        else:
            return ""
        artifacts = urlparse(client.get_run(run_id).info.artifact_uri)
    except Exception:  # noqa: BLE001 - no hint is better than a second error
        return ""
    folder = Path(unquote(artifacts.path))
    if artifacts.scheme in ("", "file") and not folder.exists():
        return (f" Its artifacts were stored at {braced(folder)}, which does not exist: was "
                "the MLflow home (mlflow.db and mlruns/) moved or copied? MLflow keeps "
                "absolute artifact paths: work from the original folder, or run the "
                "experiment again here.")
    return ""


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
    run_id = (client.get_model_version(name, version_text).run_id if version_text.isdigit()
              else None)  # "latest" and stages: MLflow resolves them itself
    return {"name": name, "version": version_text, "alias": None, "run_id": run_id}
