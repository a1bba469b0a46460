"""Save and load a trained model bundle without pickle: LightGBM text models and JSON, with
a manifest of SHA-256 checksums verified on load."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np

from ._errors import ModelError, OrganoPredictWarning
from ._features import FeatureBuilder
from ._models import OrganFit, OrganotropismModel
from ._prior import SubtypePrior
from ._recipes import load_recipes

__all__ = ["load_bundle", "save_bundle"]

FORMAT = "organo-predict-bundle/1"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_bundle(builder: FeatureBuilder, model: OrganotropismModel, path: str | Path,
                metadata: dict[str, object] | None = None) -> Path:
    """Write the bundle atomically: a temporary folder renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        (tmp / "boosters").mkdir()
        features = {"params": builder.get_params(),
                    **{k: getattr(builder, k) for k in ("genes_", "cna_genes_", "sv_genes_",
                                                        "categories_", "feature_names_",
                                                        "recipes_version_")}}
        features["params"]["extra_clinical"] = list(features["params"]["extra_clinical"])
        (tmp / "features.json").write_text(json.dumps(features))
        prior = model.prior_
        organs = {}
        for organ, fit in model.fits_.items():
            if fit.booster is not None:
                fit.booster.save_model(str(tmp / "boosters" / f"{organ}.txt"))
            organs[organ] = {"calibration": list(fit.calibration), "n_positives": fit.n_positives,
                             "best_iteration": fit.best_iteration, "status": fit.status,
                             "booster": f"boosters/{organ}.txt" if fit.booster else None}
        params = model.get_params()
        params["organs"] = list(params["organs"])
        params["categorical"] = list(params["categorical"])
        # absent from bundles written before it existed: those load with () as trained
        params["unprofiled_as_absent"] = list(params["unprofiled_as_absent"])
        params["missing_as_type_median"] = list(params["missing_as_type_median"])  # idem
        params["features"] = None if params["features"] is None else list(params["features"])
        state = {
            "params": params, "feature_names_": model.feature_names_,
            "categorical_": model.categorical_, "organs_": model.organs_,
            "train_prevalence_": model.train_prevalence_,
            "summary_medians_": getattr(model, "summary_medians_", {}),
            "interactions_": [[int(f), float(t)] for f, t in getattr(model, "interactions_", [])],
            "prior": {"strength": prior.strength, "global": prior.global_.tolist(),
                      "types": {str(k): v.tolist() for k, v in prior.type_rates_.items()},
                      "subtypes": [[t, s, v.tolist()] for (t, s), v in
                                   prior.subtype_rates_.items()]},
            "organs": organs,
        }
        (tmp / "model.json").write_text(json.dumps(state))
        (tmp / "metadata.json").write_text(json.dumps(metadata or {}, default=str))
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {"format": FORMAT,
                    "files": {str(p.relative_to(tmp)): _sha256(p) for p in files}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_bundle(path: str | Path) -> tuple[FeatureBuilder, OrganotropismModel, dict]:
    """Load a bundle after checking every file against the manifest's SHA-256."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise ModelError(f"{path}: not a model bundle (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise ModelError(f"{manifest_path}: unsupported bundle format {manifest.get('format')!r}")
    for name, digest in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise ModelError(f"{path}: file {name} listed in the manifest is missing")
        if _sha256(file) != digest:
            raise ModelError(f"{path}: checksum mismatch for {name}; refusing to load")
    features = json.loads((path / "features.json").read_text())
    builder = FeatureBuilder(**features.pop("params"))
    for key, value in features.items():
        setattr(builder, key, value)
    builder.n_features_in_ = len(builder.feature_names_)
    state = json.loads((path / "model.json").read_text())
    model = OrganotropismModel(**state["params"])
    model.feature_names_ = state["feature_names_"]
    model.categorical_ = state["categorical_"]
    model.organs_ = state["organs_"]
    model.train_prevalence_ = state["train_prevalence_"]
    model.summary_medians_ = state.get("summary_medians_", {})  # older bundles: none
    model.interactions_ = [(int(f), float(t)) for f, t in state.get("interactions_", [])]
    prior = SubtypePrior(state["prior"]["strength"])
    prior.global_ = np.asarray(state["prior"]["global"])
    prior.type_rates_ = {float(k): np.asarray(v) for k, v in state["prior"]["types"].items()}
    prior.subtype_rates_ = {(float(t), float(s)): np.asarray(v)
                            for t, s, v in state["prior"]["subtypes"]}
    model.prior_ = prior
    model.fits_ = {}
    for organ, info in state["organs"].items():
        booster = (lgb.Booster(model_file=str(path / info["booster"])) if info["booster"]
                   else None)
        model.fits_[organ] = OrganFit(organ, booster, tuple(info["calibration"]),
                                      info["n_positives"], info["best_iteration"], info["status"])
    metadata = json.loads((path / "metadata.json").read_text())
    installed = load_recipes().version
    if getattr(builder, "recipes_version_", installed) != installed:
        warnings.warn(OrganoPredictWarning(
            f"bundle {path}: its features were built with recipes version "
            f"{builder.recipes_version_}, the installed features/markers.toml is {installed}; "
            "features are built with the installed recipes, which may differ from training"),
            stacklevel=2)
    return builder, model, metadata
