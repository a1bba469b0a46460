"""A trained model on a labelled cohort it was not trained on: evaluation in the project's own
terms, and logistic recalibration (TRIPOD model updating: intercept and slope on the
model's log-odds, per organ).

Pure computation on a loaded model and a cohort; files and MLflow are `_reporting`'s and
`_tracking`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._base._errors import CohortError
from .._cohort._cohort import Cohort
from .._cohort._labels import labels_from_cohort, population_rows
from .._cohort._organs import MAIN_ORGANS, ORGANS
from .._explain._explainer import Explainer
from .._model._loading import LoadedModel
from .._model._models import OrganotropismModel
from .._model._prior import Calibration, fit_logistic_on_logit
from ._decision_curves import decision_curve_metrics
from ._fidelity import Fidelity, measure_fidelity, residual_slope
from ._metrics import OrganMetrics, evaluate_organ, largest_types, sample_context
from ._replication import replicate
from ._subgroups import subgroup_context, subgroup_metrics

__all__ = ["Evaluation", "Recalibration", "evaluate_model", "labelled_population",
           "mechanisms_on", "recalibrate_model"]


@dataclass
class Evaluation:
    """What `evaluate` reports: per-organ metrics against the model's own cancer-type prior,
    calibration in the large, and the predictions behind them."""

    cohort: str
    model_uri: str
    n_samples: int
    sites: dict[str, OrganMetrics]
    calibration_in_the_large: dict[str, float]  # observed rate - mean predicted
    not_evaluated: dict[str, str]
    y: pd.DataFrame = field(repr=False)
    proba: pd.DataFrame = field(repr=False)
    prior: pd.DataFrame = field(repr=False)
    fidelity: Fidelity | None = None  # documented contrasts, observed against predicted
    cancer_type: np.ndarray | None = field(default=None, repr=False)  # per row of y
    clinical: dict[str, object] = field(default_factory=dict)  # decision curves, subgroups

    @property
    def main_organs(self) -> list[str]:
        return [o for o in MAIN_ORGANS if o in self.sites]

    def macro_within_type(self, prior: bool = False) -> float:
        values = [(m.prior_auroc_within_type if prior else m.auroc_within_type)
                  for o, m in self.sites.items() if o in self.main_organs]
        return float(np.nanmean(values)) if values else float("nan")


@dataclass
class Recalibration:
    """Per organ, the logistic update fitted on local labels: new log-odds = a + b x old."""

    model: OrganotropismModel
    updates: dict[str, Calibration]  # organ -> the update (slope b, intercept a)
    skipped: dict[str, str]


def labelled_population(loaded: LoadedModel, cohort: Cohort,
                        labels: Mapping[str, str] | None = None,
                        every_organ: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features and 0/1 flags over the population the model was trained on (its metadata;
    metastatic by default), chosen by the flags of the organs it models. The flags are of
    those organs, or with `every_organ` of every organ the cohort labels."""
    flags = labels_from_cohort(cohort, ORGANS if every_organ else list(loaded.model.organs_),
                               labels)
    modelled = [o for o in loaded.model.organs_ if o in flags.columns]
    if not modelled:
        raise CohortError("no organ of the model has a label column in the cohort "
                          "(DMETS_DX_<ORGAN>, or name them with --label ORGAN=COLUMN)",
                          file=cohort.source)
    rows = population_rows(cohort, flags[modelled],
                           str(loaded.metadata.get("population", "metastatic")))
    features = loaded.builder.transform(cohort)
    return features[rows], flags[rows]


def mechanisms_on(loaded: LoadedModel, cohort: Cohort,
                  labels: Mapping[str, str] | None = None) -> dict[str, object]:
    """The mechanism replication table of a model on a cohort: on the cohort it was trained
    on, the training run's own table (its model intervals come from the CV refits, which a
    loaded model does not have); on another cohort, computed there with the model fixed."""
    stored = loaded.metadata.get("mechanisms")
    if isinstance(stored, dict) and loaded.metadata.get("fingerprint") == cohort.fingerprint:
        return stored
    x, y = labelled_population(loaded, cohort, labels, every_organ=True)
    return replicate(Explainer.from_loaded(loaded), x, y, cohort_name=cohort.study_id).table()


def evaluate_model(loaded: LoadedModel, cohort: Cohort, labels: Mapping[str, str] | None = None,
                   n_bootstrap: int = 200, seed: int = 0, min_each: int = 20,
                   unknown_cancer_type: str = "refuse") -> Evaluation:
    """Every organ the cohort labels: AUROC pooled, within cancer type and on primaries,
    against the model's own cancer-type prior, with bootstrap intervals; calibration;
    decision curves and subgroups of the main organs. A cancer type the model cannot match
    refuses the cohort unless `unknown_cancer_type` is "pooled"."""
    loaded.builder.check_cancer_types(cohort, unknown_cancer_type)
    x, y = labelled_population(loaded, cohort, labels)
    model = loaded.model
    inputs = model.inputs(x)  # converted once for both
    proba, prior = model.predict_proba(inputs), model.prior_proba(inputs)
    cancer_type, primary = sample_context(cohort.samples.loc[x.index])
    sites, citl, skipped = {}, {}, {}
    for organ in y.columns:
        known = y[organ].notna().to_numpy()
        flags = y[organ].to_numpy()[known] == 1
        if (too_few := _too_few(flags, min_each)) is not None:
            skipped[organ] = too_few
            continue
        p = proba[organ].to_numpy()[known]
        sites[organ] = evaluate_organ(
            organ, flags, p, prior[organ].to_numpy()[known], None, cancer_type[known],
            primary[known], n_boot=n_bootstrap, seed=seed, min_each=min_each,
            status=model.fits_[organ].status)
        citl[organ] = float(flags.mean() - p.mean())
    evaluated = [o for o in MAIN_ORGANS if o in sites] or list(sites)[:8]
    organs = list(y.columns)
    clinical = {
        "decision_curves": decision_curve_metrics(
            y, proba[organs].to_numpy(), prior[organs].to_numpy(), cancer_type, evaluated,
            largest_types(cancer_type), n_bootstrap, seed),
        "subgroups": subgroup_metrics(
            y, proba[organs].to_numpy(), prior[organs].to_numpy(), cancer_type,
            subgroup_context(cohort, x.index), evaluated, n_bootstrap, seed)}
    return Evaluation(cohort.study_id, loaded.uri, len(x), sites, citl, skipped, y, proba,
                      prior, _fidelity_on(loaded, x, y, proba, prior, cancer_type, sites,
                                          cohort.study_id, n_bootstrap, seed),
                      cancer_type, clinical)


def _fidelity_on(loaded: LoadedModel, x: pd.DataFrame, y: pd.DataFrame, proba: pd.DataFrame,
                 prior: pd.DataFrame, cancer_type: np.ndarray, sites: Mapping[str, object],
                 cohort_name: str, n_bootstrap: int, seed: int) -> Fidelity:
    """The fixed model's fidelity on this cohort: the entries it can test, observed against
    predicted, and each evaluated organ's within-type residual slope."""
    organs = list(y.columns)
    tested = replicate(Explainer.from_loaded(loaded), x, y, cohort_name=cohort_name,
                       with_model=False, predictions=proba[organs].to_numpy())
    slopes = {o: residual_slope(y[o].to_numpy(), proba[o].to_numpy(), prior[o].to_numpy(),
                                cancer_type) for o in organs if o in sites}
    return measure_fidelity(tested.contrasts, slopes, "fixed model, external cohort",
                            n_bootstrap=n_bootstrap, seed=seed)


def recalibrate_model(loaded: LoadedModel, cohort: Cohort,
                      labels: Mapping[str, str] | None = None,
                      min_each: int = 20) -> Recalibration:
    """A copy of the model whose organs' log-odds are refitted on the cohort's labels:
    logistic regression of the flag on the model's log-odds (intercept and slope). The
    update folds into each organ's Platt calibration, so probabilities and SHAP (scaled by
    the slope) stay one additive explanation. Organs with fewer than `min_each` positives
    or negatives are left as they were."""
    x, y = labelled_population(loaded, cohort, labels)
    model = loaded.model
    log_odds = pd.DataFrame(model.decision_function(model.inputs(x)), index=x.index,
                            columns=model.organs_)
    updated = copy.copy(model)
    updated.fits_ = dict(model.fits_)
    updates, skipped = {}, {}
    for organ in model.organs_:
        if organ not in y.columns:
            skipped[organ] = "no label in the cohort"
            continue
        known = y[organ].notna().to_numpy()
        flags = y[organ].to_numpy()[known]
        if (too_few := _too_few(flags == 1, min_each)) is not None:
            skipped[organ] = too_few
            continue
        update = fit_logistic_on_logit(log_odds[organ].to_numpy()[known], flags)
        fit = model.fits_[organ]
        slope, intercept = fit.calibration
        updated.fits_[organ] = replace(fit, calibration=Calibration(
            update.slope * slope, update.slope * intercept + update.intercept))
        updates[organ] = update
    return Recalibration(updated, updates, skipped)


def _too_few(flags: np.ndarray, min_each: int) -> str | None:
    """Why an organ's labels are too few to evaluate or recalibrate on (None: enough)."""
    positives, negatives = int(flags.sum()), int((~flags).sum())
    if positives < min_each or negatives < min_each:
        return (f"{positives} positives and {negatives} negatives (at least {min_each} "
                "each needed)")
    return None
