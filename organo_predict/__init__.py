"""organo-predict: where will a cancer spread, and why, from the tumor's own genomics.

The public API, one name per thing a user touches, stage by stage (data flows down):

    cohort       Cohort, load_study, datasets.msk_met()
    features     FeatureBuilder
    model        OrganotropismModel, labels_from_cohort, labels_from_samples, ORGANS, MAIN_ORGANS
    explain      Explainer, PatientExplanation, OrganExplanation, ShapEngine, rank_drivers
    leakage      audit_leakage, AuditReport, population_rows, audit_strata
    evaluate     ProbabilityIntervals, check_intervals, net_benefit, decision_curve,
                 subgroup_performance
    persistence  save_bundle, load_bundle, load_model, LoadedModel, DEFAULT_MODEL_URI
    scoring      score_cohort, ScoreSummary
    experiment   load_config, ExperimentConfig, run_experiment, ExperimentResult, train_model
    serving      create_app, PatientProfile, profiles_from_cohort
    errors       OrganoPredictError and below; OrganoPredictWarning and below

Names past the error tree are imported on first use, so `import organo_predict` stays
light (no pandas, LightGBM, MLflow or FastAPI until they are needed: `organo-predict
--help` and argument errors answer before any of them loads).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._base._threads import quiet_openmp

quiet_openmp()  # before anything loads LightGBM's OpenMP runtime (see _threads)

from ._base._errors import (  # noqa: E402
    CohortError,
    CohortWarning,
    ConfigError,
    DownloadError,
    FeatureError,
    LeakageError,
    ModelError,
    OrganoPredictError,
    OrganoPredictWarning,
    ProfileError,
    UnknownGeneWarning,
    UsageError,
)

__version__ = "0.1.0"

_LAZY = {  # public name -> the private module that owns it
    "Cohort": "_cohort._cohort", "load_study": "_cohort._cohort",
    "FeatureBuilder": "_features._builder",
    "OrganotropismModel": "_model._models", "labels_from_samples": "_cohort._labels",
    "labels_from_cohort": "_cohort._labels", "ORGANS": "_cohort._organs",
    "MAIN_ORGANS": "_cohort._organs",
    "Explainer": "_explain._explainer", "PatientExplanation": "_explain._explanations",
    "OrganExplanation": "_explain._explanations",
    "rank_drivers": "_explain._drivers", "ShapEngine": "_explain._engine",
    "save_bundle": "_model._bundle", "load_bundle": "_model._bundle",
    "load_model": "_model._loading", "LoadedModel": "_model._loading",
    "score_cohort": "_apps._score", "ScoreSummary": "_apps._score",
    "load_config": "_apps._config", "ExperimentConfig": "_apps._config",
    "run_experiment": "_apps._experiment", "ExperimentResult": "_apps._experiment",
    "train_model": "_apps._experiment", "population_rows": "_cohort._labels",
    "audit_strata": "_apps._population", "audit_leakage": "_model._leakage", "AuditReport": "_model._leakage",
    "DEFAULT_MODEL_URI": "_model._loading", "profiles_from_cohort": "_features._profiles",
    "create_app": "_apps._serve", "PatientProfile": "_features._profiles",
    "ProbabilityIntervals": "_model._intervals", "check_intervals": "_model._intervals",
    "net_benefit": "_evaluate._decision_curves", "decision_curve": "_evaluate._decision_curves",
    "subgroup_performance": "_evaluate._subgroups",
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports
    from . import datasets
    from ._apps._config import ExperimentConfig, load_config
    from ._apps._experiment import ExperimentResult, run_experiment, train_model
    from ._apps._population import audit_strata
    from ._apps._score import ScoreSummary, score_cohort
    from ._apps._serve import create_app
    from ._cohort._cohort import Cohort, load_study
    from ._cohort._labels import labels_from_cohort, labels_from_samples, population_rows
    from ._cohort._organs import MAIN_ORGANS, ORGANS
    from ._evaluate._decision_curves import decision_curve, net_benefit
    from ._evaluate._subgroups import subgroup_performance
    from ._explain._drivers import rank_drivers
    from ._explain._engine import ShapEngine
    from ._explain._explainer import Explainer
    from ._explain._explanations import OrganExplanation, PatientExplanation
    from ._features._builder import FeatureBuilder
    from ._features._profiles import PatientProfile, profiles_from_cohort
    from ._model._bundle import load_bundle, save_bundle
    from ._model._intervals import ProbabilityIntervals, check_intervals
    from ._model._leakage import AuditReport, audit_leakage
    from ._model._loading import DEFAULT_MODEL_URI, LoadedModel, load_model
    from ._model._models import OrganotropismModel


def __getattr__(name: str) -> object:
    if name == "datasets":  # a subpackage: importing it binds it here
        return import_module(".datasets", __name__)
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'organo_predict' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_MODEL_URI",
    "MAIN_ORGANS",
    "ORGANS",
    "AuditReport",
    "Cohort",
    "CohortError",
    "CohortWarning",
    "ConfigError",
    "DownloadError",
    "ExperimentConfig",
    "ExperimentResult",
    "Explainer",
    "FeatureBuilder",
    "FeatureError",
    "LeakageError",
    "LoadedModel",
    "ModelError",
    "OrganExplanation",
    "OrganoPredictError",
    "OrganoPredictWarning",
    "OrganotropismModel",
    "PatientExplanation",
    "PatientProfile",
    "ProbabilityIntervals",
    "ProfileError",
    "ScoreSummary",
    "ShapEngine",
    "UnknownGeneWarning",
    "UsageError",
    "__version__",
    "audit_leakage",
    "audit_strata",
    "check_intervals",
    "create_app",
    "decision_curve",
    "datasets",
    "labels_from_cohort",
    "labels_from_samples",
    "load_bundle",
    "load_config",
    "load_model",
    "load_study",
    "net_benefit",
    "population_rows",
    "profiles_from_cohort",
    "rank_drivers",
    "run_experiment",
    "save_bundle",
    "score_cohort",
    "subgroup_performance",
    "train_model",
]
