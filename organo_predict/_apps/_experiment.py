"""Run a configured experiment: cohort -> features -> audit -> CV -> final model -> reports
-> MLflow.

The orchestration only: `run_experiment` reads as its steps. What a report holds is
`_reporting`'s; what MLflow receives, and the champion rule, are `_tracking`'s.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .._evaluate._decision_curves import decision_curve_metrics
from .._evaluate._fidelity import Fidelity, measure_fidelity, residual_slope
from .._evaluate._metrics import (
    MACRO_PRIOR_WITHIN_TYPE,
    MACRO_WITHIN_TYPE,
    OrganMetrics,
    cv_splits,
    evaluate_organ,
    largest_types,
)
from .._evaluate._replication import Refit, replicate
from .._evaluate._replication_results import Replication
from .._evaluate._subgroups import subgroup_context, subgroup_metrics
from .._explain._explainer import Explainer
from .._knowledge._feature_names import CONTEXT_FEATURES
from .._model._crossfit import CrossFit, cross_fit
from .._model._folds import Engine, check_engine
from .._model._intervals import (
    Z_LIMIT,
    ProbabilityIntervals,
    check_intervals,
    cross_fitted_intervals,
)
from .._model._leakage import AuditReport
from .._model._loading import LoadedModel
from .._model._models import OrganotropismModel
from ._config import ExperimentConfig, leakage_policy
from ._figures import write_shap_figures
from ._population import Population, audit_population, input_policies, load_population
from ._reporting import (
    atomic_write,
    check_report_dir,
    json_default,
    site_dict,
    staged_folder,
    write_reports,
)

__all__ = ["ExperimentResult", "run_experiment", "train_model"]

CLINICAL_FEATURES = list(CONTEXT_FEATURES)
# The clinical baseline has five features; early stopping finds its optimum at a higher rate
# (the same skill as at the model's rate, in half the time).
CLINICAL_LEARNING_RATE = 0.1

Log = Callable[[str], None]


@dataclass
class ExperimentResult:
    """What `run_experiment` returns: the metrics.json content and where the model went."""

    metrics: dict[str, object]
    report_dir: Path
    run_id: str | None
    model_uri: str | None
    model_version: str | None
    champion: bool


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, cwd=Path(__file__).parent, check=False
                              ).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("organo-predict", "lightgbm", "scikit-learn", "pandas", "numpy", "mlflow",
                "shap"):
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


@dataclass
class _OutOfFold:
    """Out-of-fold probabilities of the model, the subtype prior and the clinical baseline;
    the folds' models, each with the rows it was fitted on."""

    model: np.ndarray
    prior: np.ndarray
    clinical: np.ndarray
    refits: list[Refit]


class _Clock:
    def __init__(self, log: Log) -> None:
        self.log, self.t0 = log, time.perf_counter()
        self.started_s = time.time()  # wall clock, for the MLflow run's start

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def say(self, message: str) -> None:
        self.log(f"{message} ({self.elapsed():.1f} s)")


def run_experiment(config: ExperimentConfig, report_dir: str | Path,
                   log: Log = print, use_mlflow: bool = True, engine: Engine = "local",
                   scheduler: str | None = None) -> ExperimentResult:
    """Run `config`; write metrics.json, report.md and figures to `report_dir`. The model
    fits run on `engine`: "local" (a process pool on this machine) or "dask" (a
    LocalCluster, or the dask scheduler at `scheduler`), with the same numbers."""
    check_engine(engine, scheduler)
    clock = _Clock(log)
    report_dir = Path(report_dir)
    check_report_dir(report_dir)  # a file in the way fails now, not after the training
    if use_mlflow:
        from .._model._loading import check_tracking_writable

        check_tracking_writable()  # a read-only store fails now too
    data = load_population(config, clock.log, clock.say)
    audit, used = audit_population(config, data, clock.say)
    make_model = _model_factory(config, data, used, log)
    oof, final, fitted = _fit_models(config, data, make_model, clock, engine, scheduler)
    clock.say("final model fitted")
    final, interval_checks = _intervals(data, oof, final)
    site_metrics = _evaluate(config, data, oof, final)
    explainer = Explainer(data.builder, final)
    x_used = data.x[used]
    replication = _replication(data, explainer, x_used, oof, clock)
    fidelity = _fidelity(data, oof, replication, config)
    beeswarm_x, beeswarm_shap = _beeswarm_sample(config, explainer, x_used)
    metrics = _metrics(config, data, used, audit, site_metrics, explainer, replication, clock)
    metrics["fidelity"] = fidelity.to_dict()
    metrics["intervals"] = interval_checks
    metrics.update(_decisions_and_subgroups(config, data, oof, metrics["main_organs"], clock))
    metrics["rounds"] = {"chosen_by": "cross-validation, held-out log loss (_crossfit)",
                         "final": fitted.rounds, "folds": fitted.fold_rounds}
    metrics["engine"] = engine if scheduler is None else f"{engine} {scheduler}"
    main = metrics["main_organs"]
    run_id = model_uri = version = None
    champion = False
    with staged_folder(report_dir) as staging:  # this run's files only, renamed into place
        write_reports(staging, metrics, site_metrics, data.y, oof.model, oof.prior, main,
                      cancer_type=data.cancer_type)
        write_shap_figures(staging, explainer, beeswarm_x, beeswarm_shap, main,
                           metrics["mechanisms"])
        clock.say("evaluation done")
        if use_mlflow:
            from ._tracking import log_run

            run_id, model_uri, version, champion = log_run(
                config, metrics, staging, data.builder, final, x_used, site_metrics, audit,
                data.cohort, replication, log, start_time_s=clock.started_s)
            metrics["mlflow"] = {"run_id": run_id, "model_uri": model_uri,
                                 "version": version, "champion": champion}
        metrics["elapsed_s"] = round(clock.elapsed(), 1)
        atomic_write(staging / "metrics.json", json.dumps(metrics, indent=1,
                                                           default=json_default))
    return ExperimentResult(metrics, report_dir, run_id, model_uri, version, champion)


def train_model(config: ExperimentConfig, log: Log = print) -> LoadedModel:
    """The experiment's final model alone: same cohort, population, leakage audit, input
    policies and cross-validated fitting as `run_experiment`, no reports or MLflow."""
    clock = _Clock(log)
    data = load_population(config, clock.log, clock.say)
    _, used = audit_population(config, data, clock.say)
    oof, final, _ = _fit_models(config, data, _model_factory(config, data, used, log), clock,
                                "local", None)
    final, _ = _intervals(data, oof, final, check=False)
    clock.say("model fitted")
    return LoadedModel(data.builder, final, {"experiment": config.name}, "trained-now")


def _model_factory(config: ExperimentConfig, data: Population, used: list[str], log: Log
                   ) -> Callable[..., OrganotropismModel]:
    """Unfitted models as configured, reading what was not measured per the input policies
    (a partial, so that worker processes can receive it)."""
    absent, typical = input_policies(config, data.builder, used, log)
    return partial(OrganotropismModel, organs=data.organs, features=used,
                   unprofiled_as_absent=absent, missing_as_type_median=typical,
                   **_model_settings(config))


def _clinical_factory(config: ExperimentConfig, data: Population
                      ) -> Callable[..., OrganotropismModel]:
    """The clinical baseline: a plain LightGBM on the context features alone."""
    return partial(OrganotropismModel, organs=data.organs, features=CLINICAL_FEATURES,
                   use_prior=False,
                   **{**_model_settings(config), "learning_rate": CLINICAL_LEARNING_RATE})


def _model_settings(config: ExperimentConfig) -> dict[str, object]:
    """The configured LightGBM settings, seeded by the experiment's seed."""
    return {**config.model, "random_state": config.seed}


def _fit_models(config: ExperimentConfig, data: Population,
                make_model: Callable[..., OrganotropismModel],
                clock: _Clock, engine: Engine, scheduler: str | None
                ) -> tuple[_OutOfFold, OrganotropismModel, CrossFit]:
    """Out-of-fold probabilities (folds grouped by patient, stratified by cancer type) and
    the final model, whose rounds and calibration the cross-validation chooses
    (`_crossfit`), fitted as independent tasks on `engine` (`_folds`)."""
    splits = cv_splits(data.cancer_type, data.groups, config.n_splits, config.seed)
    clinical = _clinical_factory(config, data)
    fitted = cross_fit(make_model, clinical, data.x, data.y, splits, engine, scheduler,
                       clock.say)
    refits = []
    for (train, _), model in zip(splits, fitted.fold_models, strict=True):
        fitted_on = np.zeros(len(data.x), dtype=bool)
        fitted_on[train] = True
        refits.append(Refit(model, fitted_on))
    oof = _OutOfFold(fitted.oof_model, fitted.oof_prior, fitted.oof_clinical, refits)
    final = fitted.final
    final.set_params(n_jobs=config.model.get("n_jobs"))  # fitted on one thread, used on all
    return oof, final, fitted


def _intervals(data: Population, oof: _OutOfFold, final: OrganotropismModel, check: bool = True
               ) -> tuple[OrganotropismModel, dict[str, object]]:
    """The final model with Venn-ABERS intervals fitted on every out-of-fold probability,
    and their out-of-fold test (`_intervals`): per organ, pooled and within each of the 8
    largest cancer types, the intervals cross-fitted over the same folds."""
    probabilities = pd.DataFrame(oof.model, columns=data.organs)
    codes = data.x["cancer_type"].to_numpy(np.float64)
    intervals = ProbabilityIntervals().fit(probabilities, data.y, codes)
    out: dict[str, object] = {
        "method": "Venn-ABERS (venn-abers), Mondrian by cancer type",
        "min_patients": intervals.min_patients, "precision": intervals.precision,
        "criterion": "bins of predicted risk (deciles): observed rate within the bin's mean "
                     f"[p0, p1], up to {Z_LIMIT} binomial SE; a scope passes when no more "
                     "bins are outside than the binomial(bins, 0.05) 99th percentile"}
    if not check:
        return final.with_intervals(intervals), out
    held_out = [np.flatnonzero(~refit.rows) for refit in oof.refits]
    low, high = cross_fitted_intervals(probabilities, data.y, codes, held_out,
                                       min_patients=intervals.min_patients,
                                       precision=intervals.precision)
    largest = largest_types(data.cancer_type)
    organs = {}
    for organ in data.organs:
        labels = data.y[organ].to_numpy() == 1
        p, lo, hi = probabilities[organ].to_numpy(), low[organ].to_numpy(), high[organ].to_numpy()
        if np.isnan(lo).all():
            continue
        organs[organ] = {"pooled": check_intervals(p, lo, hi, labels).to_dict(), "types": {
            t: check_intervals(p[rows], lo[rows], hi[rows], labels[rows]).to_dict()
            for t in largest if (rows := data.cancer_type == t).any()}}
    out["largest_types"] = largest
    out["organs"] = organs
    return final.with_intervals(intervals), out


def _decisions_and_subgroups(config: ExperimentConfig, data: Population, oof: _OutOfFold,
                             main: list[str], clock: _Clock) -> dict[str, object]:
    """Decision curves (pooled and within the 8 largest cancer types) and subgroup
    performance of the main organs, on the out-of-fold predictions, with the bootstrap the
    config asks for ([evaluation] n_bootstrap, seed), as every other interval of the run."""
    y, boot = data.y, {"n_boot": config.n_bootstrap, "seed": config.seed}
    context = subgroup_context(data.cohort, data.x.index)
    out = {"decision_curves": decision_curve_metrics(y, oof.model, oof.prior, data.cancer_type,
                                                     main, largest_types(data.cancer_type),
                                                     **boot),
           "subgroups": subgroup_metrics(y, oof.model, oof.prior, data.cancer_type, context,
                                         main, **boot)}
    clock.say("decision curves and subgroups")
    return out


def _evaluate(config: ExperimentConfig, data: Population, oof: _OutOfFold,
              final: OrganotropismModel) -> dict[str, OrganMetrics]:
    """Every organ's metrics (pooled, within type, primary only, against the prior and the
    clinical baseline, with bootstrap intervals), two organs at a time."""
    def evaluate(j: int) -> OrganMetrics:
        organ = data.organs[j]
        return evaluate_organ(
            organ, data.y[organ].to_numpy() == 1, oof.model[:, j], oof.prior[:, j],
            oof.clinical[:, j], data.cancer_type, data.primary, n_boot=config.n_bootstrap,
            seed=config.seed, status=final.fits_[organ].status)

    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy releases the GIL
        return dict(zip(data.organs, pool.map(evaluate, range(len(data.organs))), strict=True))


def _replication(data: Population, explainer: Explainer, x_used: pd.DataFrame,
                 oof: _OutOfFold, clock: _Clock) -> Replication:
    """Every documented mechanism: the cohort's association, the model's reproduction of it
    (out of fold) and its attribution, with intervals (the attribution's from the CV folds'
    refits)."""
    result = replicate(explainer, x_used, data.y, oof.refits, cohort_name=data.cohort.study_id,
                       predictions=oof.model)
    summary = result.summary()
    clock.say(f"mechanism replication: the cohort replicates {summary['replicated']} of "
              f"{summary['testable']} testable entries; the model reproduces "
              f"{summary['reproduced_by_model']} and attributes "
              f"{summary['attributed_to_marker']} to the marker itself")
    return result


def _fidelity(data: Population, oof: _OutOfFold, replication: Replication,
              config: ExperimentConfig) -> Fidelity:
    """Documented contrasts observed against predicted out of fold, and each organ's
    within-type residual slope (`_fidelity`)."""
    slopes = {organ: residual_slope(data.y[organ].to_numpy(), oof.model[:, j], oof.prior[:, j],
                                    data.cancer_type)
              for j, organ in enumerate(data.organs)}
    return measure_fidelity(replication.contrasts, slopes, "out of fold",
                            n_bootstrap=config.n_bootstrap, seed=config.seed)


def _beeswarm_sample(config: ExperimentConfig, explainer: Explainer, x_used: pd.DataFrame
                     ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """1,500 patients drawn once, and the final model's marker SHAP of each main organ."""
    rows = np.random.default_rng(0).choice(len(x_used), size=min(len(x_used), 1500),
                                           replace=False)
    sample = x_used.iloc[rows]
    organs = [o for o in config.main_organs if o in explainer.model.organs_]
    return sample, {o: explainer.marker_contributions(sample, o)[0] for o in organs}


def _metrics(config: ExperimentConfig, data: Population, used: list[str], audit: AuditReport,
             site_metrics: dict[str, OrganMetrics], explainer: Explainer,
             replication: Replication, clock: _Clock) -> dict[str, object]:
    """metrics.json's content."""
    main = [o for o in config.main_organs if o in site_metrics]
    return {
        "experiment": config.name,
        "population": config.population,
        "cohort": data.cohort.study_id,
        "data_fingerprint": data.cohort.fingerprint,
        "n_patients": int(len(np.unique(data.groups))),
        "n_samples": int(data.rows.sum()),
        "n_features": len(used),
        MACRO_WITHIN_TYPE: float(np.mean(
            [site_metrics[o].auroc_within_type for o in main])),
        MACRO_PRIOR_WITHIN_TYPE: float(np.mean(
            [site_metrics[o].prior_auroc_within_type for o in main])),
        "main_organs": main,
        "n_splits": config.n_splits,
        "not_trained": {o: m.status for o, m in site_metrics.items() if m.status != "trained"},
        "leakage": {**audit.to_dict(), "policy": leakage_policy(config),
                    "unprofiled": {"read_as": config.unprofiled, "n_features": len(explainer.model.unprofiled_as_absent)}},
        "sites": {o: site_dict(m) for o, m in site_metrics.items()},
        "mechanisms": replication.to_list(),
        "mechanism_replication": replication.summary(),
        "knowledge_base_version": explainer.knowledge.version,
        "versions": _versions(),
        "git_commit": _git_commit(),
        "elapsed_s": round(clock.elapsed(), 1),
    }
