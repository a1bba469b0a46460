"""The population an experiment models: the cohort, the features of every sample, the
labels, the rows the config keeps (metastatic or all labelled, and `[population]`), the
leakage audit over them, and how the trees read what was not measured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._base._errors import ConfigError
from .._cohort._cohort import Cohort
from .._cohort._labels import label_column, labels_from_cohort, population_rows
from .._evaluate._metrics import sample_context
from .._features._builder import FeatureBuilder
from .._knowledge._recipes import load_recipes
from .._model._leakage import AuditReport, audit_leakage
from ._config import ExperimentConfig
from ._sources import load_cohort

__all__ = ["MIN_PATIENTS_PER_FOLD", "Population", "audit_population", "audit_strata",
           "input_policies", "load_population"]

Log = Callable[[str], None]


MIN_PATIENTS_PER_FOLD = 10  # the smallest population a cross-validation is run on


def audit_strata(cohort: Cohort, features: pd.DataFrame) -> np.ndarray:
    """Cancer type x panel: missingness explained by panel design is not leakage."""
    panel = cohort.panel_matrix.get("mutations")
    panel_codes = (pd.factorize(panel.reindex(features.index))[0] if panel is not None
                   else np.zeros(len(features), dtype=int))
    return np.nan_to_num(features["cancer_type"].to_numpy(), nan=-1) * 1000 + panel_codes


@dataclass
class Population:
    """The modelled population: features and labels, with what CV and evaluation need."""

    cohort: Cohort
    builder: FeatureBuilder
    features: pd.DataFrame  # every sample
    rows: np.ndarray  # the population, as a mask over samples
    x: pd.DataFrame
    y: pd.DataFrame
    organs: list[str]
    groups: np.ndarray  # patient of each row
    cancer_type: np.ndarray
    primary: np.ndarray  # a primary tumor's sample


def load_population(config: ExperimentConfig, log: Log, say: Log) -> Population:
    """Cohort, features of every sample, labels, and the rows of the configured population."""
    cohort = load_cohort(config.source, log, config.panels)
    say(f"cohort {cohort.study_id}: {len(cohort.samples):,} samples")
    builder = FeatureBuilder(min_carriers=config.min_carriers,
                             extra_clinical=config.extra_clinical)
    features = builder.fit_transform(cohort)
    labels = labels_from_cohort(cohort, config.organs, config.labels)
    organs = [o for o in config.organs if o in labels.columns]
    for organ in config.organs:
        if organ not in labels.columns:
            log(f"{organ}: no label column "
                      f"({label_column(organ, config.labels)}) in the study; "
                      "not trained")
    if not organs:
        raise ConfigError(f"{config.path}: the study has none of the organs' label columns "
                          "(DMETS_DX_<ORGAN>, or map them under [labels])")
    rows = population_rows(cohort, labels[organs], config.population) & _kept(config, cohort)
    x, y = features[rows], labels.loc[rows, organs]
    say(f"population {config.population}: {int(rows.sum()):,} patients, "
              f"{x.shape[1]} features")
    groups = cohort.samples.loc[rows, "PATIENT_ID"].to_numpy()
    n_patients, needed = len(set(groups)), MIN_PATIENTS_PER_FOLD * config.n_splits
    if n_patients < needed:  # a one-sample cohort failed deep inside the folds
        raise ConfigError(f"{config.path}: population {config.population} of "
                          f"{cohort.study_id} has {n_patients} patient(s); a "
                          f"{config.n_splits}-fold cross-validation needs at least {needed} "
                          f"({MIN_PATIENTS_PER_FOLD} per fold)")
    cancer_type, primary = sample_context(cohort.samples.loc[rows])
    return Population(cohort, builder, features, rows, x, y, organs, groups, cancer_type, primary)


def _kept(config: ExperimentConfig, cohort: Cohort) -> np.ndarray:
    """[population]: the rows whose column holds one of the values kept (all rows without)."""
    if config.keep is None:
        return np.ones(len(cohort.samples), dtype=bool)
    column, values = config.keep
    if column not in cohort.samples.columns and column not in cohort.patients.columns:
        raise ConfigError(f"{config.path}, [population], key 'column': the study has no "
                          f"column {column!r}")
    kept = cohort.clinical([column]).astype("string").isin(values).fillna(False).to_numpy(
        dtype=bool)
    if not kept.any():
        raise ConfigError(f"{config.path}, [population]: no sample has {column} in "
                          f"{list(values)}")
    return kept


def audit_population(config: ExperimentConfig, data: Population, say: Log
                     ) -> tuple[AuditReport, list[str]]:
    """The leakage audit over the population; the features it leaves (or its error)."""
    audit = audit_leakage(data.x, data.y, categorical=data.builder.categorical_features_,
                          strata=audit_strata(data.cohort, data.features)[data.rows],
                          allow=config.allow)
    refused = audit.refused_features
    if refused and config.on_refusal == "error":
        audit.raise_if_refused()
    used = [c for c in data.x.columns if c not in set(refused)]
    say(f"leakage audit: {len(refused)} feature(s) refused and dropped, {len(used)} used")
    return audit, used


def input_policies(config: ExperimentConfig, builder: FeatureBuilder, used: list[str],
                    log: Log) -> tuple[list[str], list[str]]:
    """How the trees read what was not measured: alteration flags of unprofiled genes (as
    not carried, unless the config says otherwise) and whole-tumor summaries (as the
    cancer type's median, per markers.toml)."""
    used_set = set(used)
    absent = ([f for f in builder.alteration_features_ if f in used_set]
              if config.unprofiled == "absent" else [])
    if absent:
        log(f"{len(absent)} alteration flags read 'not profiled' as 'not carried' "
            "(leakage.toml [unprofiled])")
    typical = [s.name for s in load_recipes().summaries
               if s.when_missing == "cancer_type_median" and s.name in used_set]
    return absent, typical
