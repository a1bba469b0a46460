"""An experiment in MLflow: the run (parameters, tags, metrics, nested per-organ runs, report
artifacts), the model logged from code with a pickle-free bundle, its registration, and the
move of the `champion` alias."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .._base._errors import ModelError
from .._base._threads import process_alive
from .._cohort._cohort import Cohort
from .._evaluate._metrics import MACRO_PRIOR_WITHIN_TYPE, MACRO_WITHIN_TYPE, OrganMetrics
from .._evaluate._replication_results import Replication
from .._features._builder import FeatureBuilder
from .._knowledge._feature_names import categories_to_strings
from .._model._leakage import AuditReport
from .._model._models import OrganotropismModel
from .._model._prior import Calibration
from ._config import ExperimentConfig, leakage_policy, shipped_leakage_policy
from ._reporting import REPORT_FILES, json_default

# The models-from-code file MLflow logs beside each model: it lives with the model stage
# (it loads a bundle) and is copied, not imported, here.
PYFUNC_CODE = Path(str(resources.files("organo_predict._model") / "_mlflow_model.py"))

__all__ = ["MODEL_PACKAGES", "PRIMARY_METRIC", "log_evaluation", "log_model", "log_run",
           "model_requirements", "promote", "register_recalibrated"]

Log = Callable[[str], None]
PID_TAG, HOST_TAG = "organo_predict.pid", "organo_predict.host"  # the process a run is in
PRIMARY_METRIC = MACRO_WITHIN_TYPE  # what the champion is chosen on


# the experiment's kind, which the MLflow UI opens on: its runs, not the GenAI traces view
KIND_TAG, MODEL_DEVELOPMENT = "mlflow.experimentKind", "custom_model_development"


def _run_tags(run_name: str, **tags: str) -> dict[str, str]:
    """What every run of ours is tagged with: the context MLflow's fluent API records (user,
    source), the run's name, and this process (pid and host)."""
    from mlflow.tracking.context import registry as context_registry

    return context_registry.resolve_tags({"mlflow.runName": run_name, PID_TAG: str(os.getpid()),
                                          HOST_TAG: socket.gethostname(), **tags})


@contextlib.contextmanager
def _run(run_name: str, experiment: str, start_time_s: float | None = None
         ) -> Iterator[object]:
    """An active MLflow run in `experiment` (set active, tagged as model development), tagged
    by `_run_tags`; a run of the experiment still RUNNING whose process on this host is gone
    (killed during logging) is first marked FAILED, so it does not stay RUNNING for good.
    `start_time_s` (epoch seconds; default now): when the work the run records began (the
    experiment's start, not the moment logging began), so the UI shows its true duration."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    found = mlflow.set_experiment(experiment)
    if found.tags.get(KIND_TAG) is None:
        client.set_experiment_tag(found.experiment_id, KIND_TAG, MODEL_DEVELOPMENT)
    mark_dead_runs_failed(found.experiment_id)
    created = client.create_run(
        found.experiment_id, run_name=run_name, tags=_run_tags(run_name),
        start_time=None if start_time_s is None else int(start_time_s * 1000))
    with mlflow.start_run(run_id=created.info.run_id) as run:
        yield run


def _log_organ_runs(parent, experiment_id: str, site_metrics: dict[str, OrganMetrics],
                    organ_params: dict[str, dict[str, object]]) -> None:
    """One child run per organ, in one batch each (create, log, end: three store calls
    instead of the fluent API's eight): its metrics, their 95% interval bounds as
    `<name>_low` / `<name>_high`, and the organ's fitted parameters."""
    import time

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient()
    now = int(time.time() * 1000)
    for organ, m in site_metrics.items():
        values: dict[str, float] = {}
        for key, value in m.to_dict().items():
            if isinstance(value, float):
                values[key] = value
            elif isinstance(value, tuple) and len(value) == 2:
                values[f"{key}_low"], values[f"{key}_high"] = map(float, value)
        child = client.create_run(experiment_id, run_name=organ, tags=_run_tags(
            organ, **{"mlflow.parentRunId": parent.info.run_id, "organ": organ}))
        client.log_batch(child.info.run_id, metrics=[
            Metric(k, v, now, 0) for k, v in values.items() if np.isfinite(v)], params=[
            Param(k, str(v)) for k, v in {"status": m.status,
                                          **organ_params.get(organ, {})}.items()])
        client.set_terminated(child.info.run_id)


def mark_dead_runs_failed(experiment_id: str) -> list[str]:
    """Mark FAILED every RUNNING run of the experiment whose process, on this host, is no
    longer alive. Returns their ids."""
    from mlflow import MlflowClient

    client = MlflowClient()
    host = socket.gethostname()
    dead = []
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'",
                                  max_results=1000):
        tags = run.data.tags
        pid = tags.get(PID_TAG, "")
        if tags.get(HOST_TAG) == host and pid.isdigit() and not process_alive(int(pid)):
            client.set_tag(run.info.run_id, "organo_predict.ended",
                           "its process was gone (killed?); marked FAILED by a later run")
            client.set_terminated(run.info.run_id, status="FAILED")
            dead.append(run.info.run_id)
    return dead


def log_run(config: ExperimentConfig, metrics: dict, report_dir: Path,
            builder: FeatureBuilder, final: OrganotropismModel, x_used: pd.DataFrame,
            site_metrics: dict[str, OrganMetrics], audit: AuditReport,
            cohort: Cohort, replication: Replication, log: Log = print,
            start_time_s: float | None = None) -> tuple[str, str, str, bool]:
    """Log the run and its model, register it, move `champion` if it wins: (run id, model
    URI, version, whether it became champion). The mechanism replication travels with the
    model: one line per mechanism for its explanations, and the table."""
    import mlflow
    from mlflow import MlflowClient

    from .._model._loading import configure_tracking

    configure_tracking()
    primary_metric = PRIMARY_METRIC
    with _run(config.name, config.mlflow_experiment, start_time_s=start_time_s) as run:
        mlflow.log_params({"population": config.population, "n_splits": config.n_splits,
                           "min_carriers": config.min_carriers, "seed": config.seed,
                           "config": config.path, "leakage.unprofiled": config.unprofiled,
                           **{f"model.{k}": v for k, v in config.model.items()}})
        mlflow.set_tags({"data_fingerprint": cohort.fingerprint, "cohort": cohort.study_id,
                         "git_commit": metrics["git_commit"], "engine": metrics["engine"],
                         "leakage_policy": leakage_policy(config),
                         **{f"version.{k}": v for k, v in metrics["versions"].items()}})
        mlflow.log_metrics({primary_metric: metrics[primary_metric],
                            MACRO_PRIOR_WITHIN_TYPE:
                                metrics[MACRO_PRIOR_WITHIN_TYPE],
                            "n_patients": metrics["n_patients"],
                            "n_features": metrics["n_features"],
                            "n_refused_features": len(audit.refused_features),
                            **{f"mechanisms_{k}": v for k, v in replication.shares().items()
                               if v is not None}})
        mlflow.log_dict(replication.table(), "report/mechanisms.json")
        _log_organ_runs(run, run.info.experiment_id, site_metrics, _organ_params(final, metrics))
        mlflow.log_text(json.dumps(metrics, indent=1, default=json_default),
                        "report/metrics.json")  # as of logging: no "mlflow" block yet
        for name in REPORT_FILES:
            if (report_dir / name).exists():
                mlflow.log_artifact(str(report_dir / name), artifact_path="report")
        mlflow.log_dict(audit.to_dict(), "report/leakage_audit.json")
        info = log_model(builder, final, x_used.head(5),
                         metadata={"cohort": cohort.study_id,
                                   "citation": cohort.meta.get("citation", ""),
                                   "fingerprint": cohort.fingerprint,
                                   "population": config.population,
                                   "train_prevalence": final.train_prevalence_,
                                   "recipes_version": builder.recipes_version_,
                                   "mechanism_replication": replication.summaries(),
                                   "mechanisms": replication.table(),
                                   "skill": skill_summary(site_metrics)},
                         registered_model_name=config.registered_model)
        version = str(info.registered_model_version)
        client = MlflowClient()
        _describe(client, config.registered_model, version, metrics, run.info.run_id)
        champion = promote(client, config.registered_model, version,
                            metrics[primary_metric], primary_metric, leakage_policy(config),
                            log)
        return run.info.run_id, f"models:/{config.registered_model}/{version}", version, champion


def skill_summary(site_metrics: dict[str, OrganMetrics]) -> dict[str, dict[str, object]]:
    """Per organ, what a reader of one prediction needs of the run's out-of-fold skill:
    within-type AUROC, the prior's, and the gain's 95% interval (None where not estimable)."""
    def value(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    return {organ: {"auroc_within_type": value(m.auroc_within_type),
                    "prior_auroc_within_type": value(m.prior_auroc_within_type),
                    "gain_within_type_ci": [value(v) for v in m.gain_within_type_ci],
                    "status": m.status}
            for organ, m in site_metrics.items()}


def _organ_params(model: OrganotropismModel, metrics: dict) -> dict[str, dict[str, object]]:
    """Per organ: the boosting rounds the CV chose and the Platt calibration."""
    rounds = (metrics.get("rounds") or {}).get("final") or {}
    out: dict[str, dict[str, object]] = {}
    for organ, fit in model.fits_.items():
        slope, intercept = fit.calibration
        out[organ] = {"rounds": rounds.get(organ, ""), "calibration_slope": round(slope, 6),
                      "calibration_intercept": round(intercept, 6)}
    return out


MODEL_DESCRIPTION = (
    "organo-predict: one calibrated LightGBM per metastatic organ over the cancer-type/"
    "subtype prior, from tumor DNA panel alterations (cBioPortal format). Research use only. "
    "Judge skill within cancer type: each version's description gives its out-of-fold macro "
    "within-type AUROC over the main organs against the prior's.")


def _describe(client, name: str, version: str, metrics: dict, run_id: str) -> None:
    """Descriptions a reader of the registry sees: what the model is, and per version what
    it was trained on and how well it does within cancer type."""
    client.update_registered_model(name, description=MODEL_DESCRIPTION)
    fidelity = metrics.get("fidelity") or {}
    ratio = fidelity.get("pooled_ratio")
    client.update_model_version(name, version, description=(
        f"Trained on {metrics['cohort']} ({metrics['population']} population, "
        f"{metrics['n_patients']:,} patients, {metrics['n_features']} features; data "
        f"{metrics['data_fingerprint'][:12]}). Out-of-fold macro within-type AUROC, main "
        f"organs: {metrics[PRIMARY_METRIC]:.3f} (cancer-type prior "
        f"{metrics[MACRO_PRIOR_WITHIN_TYPE]:.3f})"
        + (f"; documented contrasts reproduced at {ratio:.2f} of the observed" if
           isinstance(ratio, float) and np.isfinite(ratio) else "")
        + f". Run {run_id}."))


def log_model(builder: FeatureBuilder, model: OrganotropismModel, example: pd.DataFrame,
              metadata: dict[str, object], registered_model_name: str | None = None):
    """Log features + boosters as a pyfunc from code (`_mlflow_model.py`) in the active run,
    with a pickle-free bundle artifact, a signature (every input optional) and an input
    example whose categories are strings; optionally register it. Returns MLflow's
    ModelInfo."""
    import mlflow
    from mlflow.models import infer_signature

    from .._model._bundle import save_bundle

    with tempfile.TemporaryDirectory() as tmp:
        bundle = save_bundle(builder, model, Path(tmp) / "bundle", metadata=metadata)
        example = categories_to_strings(example, builder)
        proba = model.probability_table(builder.from_named(example))
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_CODE),
            artifacts={"bundle": str(bundle)},
            input_example=example,
            signature=optional_signature(infer_signature(example, proba)),
            registered_model_name=registered_model_name,
            pip_requirements=model_requirements(),
        )


# What the logged model needs to load and give the same numbers, pinned to this
# environment. Listed rather than inferred: MLflow's inference (a subprocess that loads the
# model and records its imports, 7 s of an experiment's run) left out LightGBM itself.
MODEL_PACKAGES = ("organo-predict", "lightgbm", "numpy", "pandas", "scikit-learn", "scipy",
                  "numba", "pyarrow", "mlflow")


def model_requirements() -> list[str]:
    """`MODEL_PACKAGES` pinned to the installed versions (an absent one left out)."""
    from importlib import metadata

    pinned = []
    for package in MODEL_PACKAGES:
        try:
            pinned.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return pinned


def optional_signature(signature):
    """Every input column optional: a cohort without TMB, or a panel without a gene, is
    scored with NaN for what it lacks, as the model was trained to handle."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = Schema([ColSpec(c.type, c.name, required=False) for c in signature.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


def promote(client, name: str, version: str, value: float, metric: str,
             policy: str, log: Log = print) -> bool:
    """Alias `champion` to `version` if it beats the current champion on `metric`.

    Metrics are compared only between runs trained under the same leakage policy. A run under
    this release's policy replaces a champion trained under any other (an older leakage.toml,
    or an override): that champion's figure may rest on a channel the current rules close.
    A run under another policy never displaces a champion under this release's policy.
    """
    try:
        current = client.get_model_version_by_alias(name, "champion")
    except Exception:  # no champion yet
        current = None
    if current is not None:
        run = client.get_run(current.run_id).data
        their_policy = run.tags.get("leakage_policy", "")
        if their_policy == policy:
            if value <= run.metrics.get(metric, float("-inf")):
                return False
        elif policy != shipped_leakage_policy():
            log(f"champion v{current.version} was trained under this release's leakage policy; "
                f"a run under {policy} does not replace it")
            return False
        else:
            log(f"champion v{current.version} was trained under leakage policy "
                f"{their_policy or '(not recorded)'}, this run under {policy}: their metrics "
                "are not compared and this run replaces it")
    client.set_registered_model_alias(name, "champion", version)
    return True


def log_evaluation(metrics: dict, report_dir: Path, cohort: Cohort, model_info: dict,
                   experiment: str = "organotropism-evaluation") -> str:
    """An MLflow run for an external evaluation, linked both ways to the model version it
    evaluated (run tags; a tag on the registered version). Returns the run id."""
    import mlflow

    from .._model._loading import configure_tracking

    configure_tracking()
    with _run(f"evaluate on {cohort.study_id}", experiment) as run:
        mlflow.set_tags({"cohort": cohort.study_id, "data_fingerprint": cohort.fingerprint,
                         "model_uri": metrics["model_uri"],
                         **{f"model.{k}": str(v) for k, v in model_info.items()}})
        mlflow.log_metrics({k: v for k, v in metrics.items()
                            if isinstance(v, float) and np.isfinite(v)})
        for organ, site in metrics["sites"].items():
            mlflow.log_metrics({f"{organ}.{k}": float(v) for k, v in site.items()
                                if isinstance(v, float) and np.isfinite(v)})
        for name in ("report.md", "metrics.json", "roc.png", "calibration.png"):
            if (report_dir / name).exists():
                mlflow.log_artifact(str(report_dir / name), artifact_path="evaluation")
        if model_info.get("name") and model_info.get("version"):
            from mlflow import MlflowClient

            MlflowClient().set_model_version_tag(
                str(model_info["name"]), str(model_info["version"]),
                f"evaluated_on.{cohort.study_id}", run.info.run_id)
        return run.info.run_id


def register_recalibrated(builder: FeatureBuilder, model: OrganotropismModel,
                          example: pd.DataFrame, metadata: dict[str, object], name: str,
                          alias: str, updates: Mapping[str, Calibration],
                          experiment: str = "organotropism-recalibration") -> str:
    """Log the recalibrated model from code in its own run, register it as a new version of
    `name` and point `alias` at it (never `champion`). Returns the version."""
    import mlflow
    from mlflow import MlflowClient

    from .._model._loading import configure_tracking

    if alias == "champion":
        raise ModelError("a recalibrated model never takes the champion alias: name another")
    configure_tracking()
    with _run(f"recalibrate on {metadata.get('recalibrated_on')}", experiment):
        mlflow.set_tags({"recalibrated_on": str(metadata.get("recalibrated_on")),
                         "recalibrated_from": str(metadata.get("recalibrated_from"))})
        mlflow.log_params({f"{organ}.intercept": round(u.intercept, 6)
                           for organ, u in updates.items()}
                          | {f"{organ}.slope": round(u.slope, 6) for organ, u in updates.items()})
        info = log_model(builder, model, example, metadata, registered_model_name=name)
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(name, alias, version)
    return version
