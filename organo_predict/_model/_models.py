"""Per-organ models: a cancer-type/subtype prior plus a LightGBM residual, Platt-calibrated.

Each organ's booster starts from the prior's log-odds (`init_score`), so it learns only what
the tumor's genomics add beyond cancer type and subtype; with nothing to add, early stopping
leaves it at the prior. Pure computation: no file or network IO here.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils.validation import check_is_fitted

from .._base._errors import CohortError, CohortWarning, ModelError, excerpt
from .._base._threads import usable_cores
from .._knowledge._schemas import ORGANS, did_you_mean
from ._intervals import ProbabilityIntervals
from ._prior import (
    Calibration,
    SubtypePrior,
    code_key,
    fit_logistic_on_logit,
    logit,
    sigmoid,
    type_medians,
)

if TYPE_CHECKING:
    from .._cohort._cohort import Cohort

__all__ = ["MAIN_ORGANS", "ORGANS", "ModelInputs", "OrganotropismModel", "SubtypePrior",
           "label_column", "labels_from_cohort", "labels_from_samples", "platt", "population_rows"]

MAIN_ORGANS: tuple[str, ...] = ("LIVER", "LUNG", "BONE", "CNS_BRAIN", "DIST_LN", "PLEURA",
                                "ADRENAL_GLAND", "INTRA_ABDOMINAL")
LABEL_PREFIX = "DMETS_DX_"


def labels_from_samples(samples: pd.DataFrame, organs: Sequence[str] = ORGANS) -> pd.DataFrame:
    """Organ flags as float 0/1 (NaN unknown), one column per organ present in `samples`."""
    out = {}
    for organ in organs:
        column = f"{LABEL_PREFIX}{organ}"
        if column in samples.columns:
            out[organ] = _flags(samples[column], column)
    return pd.DataFrame(out, index=samples.index)


_FLAGS = {"yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0,
          "0.0": 0.0, "true": 1.0, "false": 0.0}


def _flags(values: pd.Series, column: str | None = None) -> pd.Series:
    """Yes/No, Y/N, 1/0 or true/false (any case, NUMBER columns' 1.0/0.0) as float 0/1;
    missing stays NaN. Any other value is also NaN (an unknown label), with a warning
    naming the column, the value and how many rows have one like it."""
    text = values.astype("string").str.strip().str.lower()
    flags = text.map(_FLAGS).astype(float)
    odd = (text.notna() & flags.isna()).to_numpy()
    if odd.any():
        first = values.iloc[int(np.flatnonzero(odd)[0])]
        warnings.warn(f"{column or values.name}: {int(odd.sum())} value(s) that are not a "
                      f"flag (first {excerpt(first)}; Yes/No, Y/N, 1/0 or true/false) read "
                      "as unknown", CohortWarning, stacklevel=3)
    return flags


def label_column(organ: str, columns: Mapping[str, str] | None = None) -> str:
    """The study column holding `organ`'s flag: `columns[organ]`, else DMETS_DX_<ORGAN>."""
    return (columns or {}).get(organ, f"{LABEL_PREFIX}{organ}")


def labels_from_cohort(cohort: Cohort, organs: Sequence[str] = ORGANS,
                       columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Organ flags as float 0/1 (NaN unknown), one column per organ whose column the study
    has: `columns[organ]` (a sample or patient attribute), else DMETS_DX_<ORGAN>; values
    Yes/No, 1/0 or true/false, any case."""
    out = {}
    present = [*cohort.samples.columns, *cohort.patients.columns]
    for organ in organs:
        column = label_column(organ, columns)
        if column in present:
            out[organ] = _flags(cohort.clinical([column]), column).to_numpy()
        elif column in (columns or {}).values():  # named by the user: it must be there
            raise CohortError(f"the {organ} label column {column!r} is in neither the sample "
                              f"nor the patient file{did_you_mean(column, present)}",
                              file=cohort.source)
    return pd.DataFrame(out, index=cohort.samples.index)


def population_rows(cohort: Cohort, labels: pd.DataFrame, population: str) -> np.ndarray:
    """Rows modelled: known flags for every organ, and metastatic disease by default."""
    known = labels.notna().all(axis=1).to_numpy()
    if population == "all_labelled":
        return known
    if "METASTATIC_PATIENT" in cohort.samples.columns:
        metastatic = (cohort.samples["METASTATIC_PATIENT"].astype("string").str.lower()
                      == "yes").to_numpy()
    else:  # without the column: a patient with any organ flag set is metastatic
        metastatic = (labels.fillna(0).sum(axis=1) > 0).to_numpy()
    return known & metastatic


IDENTITY = Calibration(1.0, 0.0)  # an organ's calibration before one is fitted


@dataclass
class OrganFit:
    """One organ's fitted pieces."""

    organ: str
    booster: lgb.Booster | None
    calibration: Calibration  # Platt (slope, intercept) on the log-odds
    n_positives: int
    best_iteration: int
    status: str  # "trained" or why not
    # a fold's fit (`fit(..., eval_set=...)`): held-out log loss after each boosting round,
    # from which the cross-validation chooses the rounds (`_crossfit`)
    valid_loss: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Rows:
    """The training matrix as the trees read it, the prior's log-odds, and the training and
    validation rows of a fit."""

    data: np.ndarray
    init: np.ndarray
    train: np.ndarray
    valid: np.ndarray


@dataclass(frozen=True)
class ModelInputs:
    """A feature frame converted once for repeated use across organs: `data`, the model's
    columns as C-ordered float32 the way the trees read them; `as_built`, the same values as
    the feature builder made them (NaN: not profiled), for what explanations show; and the
    prior's log-odds (n, organs). `as_built` is `data` itself when the two do not differ."""

    data: np.ndarray
    prior_logit: np.ndarray
    index: pd.Index
    as_built: np.ndarray
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def take(self, rows: np.ndarray) -> ModelInputs:
        """The same inputs for a subset of rows (a boolean mask or positions)."""
        data = self.data[rows]
        return ModelInputs(data, self.prior_logit[rows], self.index[rows],
                           data if self.as_built is self.data else self.as_built[rows])

    def columns(self) -> np.ndarray:
        """The same data column-major (built once): per-feature scans read it contiguously."""
        if "columns" not in self._cache:
            self._cache["columns"] = np.asfortranarray(self.data)
        return self._cache["columns"]


class OrganotropismModel(BaseEstimator):
    """One calibrated LightGBM binary model per organ, learning the residual over the prior.

    Parameters:
        organs: organs to model (columns of the label frame).
        features: the feature columns to use (None: all given); `cancer_type` and `subtype`
            must be among the inputs for the prior.
        categorical: categorical feature columns.
        use_prior: start boosting from the subtype prior (`init_score`); without it the
            model is a plain LightGBM.
        n_estimators, learning_rate, num_leaves, max_depth, min_child_samples, feature_fraction,
        bagging_fraction, reg_lambda, cat_smooth: LightGBM settings.
        early_stopping_rounds: patience: on the held-out rows of `fit(..., eval_set=...)`,
            or on the inner validation split of a plain `fit`.
        valid_fraction: a plain `fit` without `rounds` or `eval_set`: the share of training
            rows held out for early stopping and Platt calibration (stratified by type).
        rounds: boosting rounds per organ, chosen beforehand (by the cross-validation,
            `_crossfit`): every row trains, nothing is held out, and the calibration is set
            afterwards (`with_calibration`) from out-of-fold scores. 0: the prior alone.
        min_positives: organs with fewer training positives are not trained (prior only)
            and reported.
        prior_strength: shrinkage pseudo-count of the prior.
        unprofiled_as_absent: alteration columns whose NaN ("not on this sample's panel")
            the trees read as "not carried", in training and prediction alike. Free to route
            NaN, trees learn which panel sequenced a sample, i.e. its sequencing era and
            follow-up, from hundreds of panel-gated genes (leakage.toml `[unprofiled]`).
        missing_as_type_median: whole-tumor summaries (tmb, fga, aneuploidy) whose NaN the
            trees read as the training median of the sample's cancer type (overall median
            for a type not seen), so an answer does not move because a cohort or a client did
            not measure them (markers.toml `when_missing`). Fitted: `summary_medians_`.
        type_interactions: offer the trees, for every alteration flag (`unprofiled_as_absent`)
            and cancer type with at least this many carriers and as many non-carriers of the
            type, the flag within that type alone as a column of its own, so that one split
            can learn an effect that lives in one cancer type (0: none). The rule reads no
            label and treats every flag and type alike. Fitted: `interactions_` (feature
            position, cancer-type code); SHAP credits such a column to its flag.
        random_state, n_jobs: determinism and threads (None: the cores this process may
            use, `_threads.usable_cores`; results do not depend on it).
    """

    def __init__(self, organs: Sequence[str] = ORGANS, features: Sequence[str] | None = None,
                 categorical: Sequence[str] = ("cancer_type", "subtype", "primary_site"),
                 use_prior: bool = True,
                 n_estimators: int = 1000, learning_rate: float = 0.06, num_leaves: int = 15,
                 max_depth: int = 5,
                 min_child_samples: int = 40, feature_fraction: float = 0.3,
                 bagging_fraction: float = 0.8, reg_lambda: float = 10.0,
                 cat_smooth: float = 20.0, early_stopping_rounds: int = 100,
                 valid_fraction: float = 0.2, min_positives: int = 50,
                 prior_strength: float = 20.0, unprofiled_as_absent: Sequence[str] = (),
                 missing_as_type_median: Sequence[str] = (),
                 rounds: Mapping[str, int] | None = None, type_interactions: int = 0,
                 random_state: int = 0, n_jobs: int | None = None) -> None:
        self.organs = organs
        self.features = features
        self.categorical = categorical
        self.use_prior = use_prior
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.reg_lambda = reg_lambda
        self.cat_smooth = cat_smooth
        self.early_stopping_rounds = early_stopping_rounds
        self.valid_fraction = valid_fraction
        self.min_positives = min_positives
        self.prior_strength = prior_strength
        self.unprofiled_as_absent = unprofiled_as_absent
        self.missing_as_type_median = missing_as_type_median
        self.rounds = rounds
        self.type_interactions = type_interactions
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ helpers

    def _lgb_params(self) -> dict[str, object]:
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": self.feature_fraction, "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1, "lambda_l2": self.reg_lambda, "cat_smooth": self.cat_smooth,
            "cat_l2": 10.0, "min_data_per_group": 50, "max_cat_to_onehot": 4,
            "seed": self.random_state, "deterministic": True, "force_row_wise": True,
            "num_threads": self.n_jobs or usable_cores(), "verbosity": -1,
        }

    def _prior_logit(self, x: pd.DataFrame) -> np.ndarray:
        if not self.use_prior:
            return np.tile(logit(self.prior_.global_), (len(x), 1))
        return logit(self.prior_.predict(x["cancer_type"].to_numpy(np.float64),
                                         x["subtype"].to_numpy(np.float64)))

    # ------------------------------------------------------------------ estimator API

    def fit(self, x: pd.DataFrame, y: pd.DataFrame,
            eval_set: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> OrganotropismModel:
        """Fit the prior and one booster per organ on features `x` and 0/1 labels `y`.

        Three ways, one per use: with `rounds` set, every row trains for the organ's chosen
        rounds (the final model of a cross-validation); with `eval_set` (a fold's held-out
        rows), every row trains until the held-out loss has not improved for
        `early_stopping_rounds`, recording that loss after each round (`valid_loss`); with
        neither, a `valid_fraction` split early-stops and Platt-calibrates (a quick fit).
        With `rounds` or `eval_set` the calibration is the identity until
        `with_calibration` sets it from out-of-fold scores."""
        self._check_fit_inputs(x, y)
        for cache in [k for k in self.__dict__ if k.endswith("_cache")]:
            del self.__dict__[cache]  # column positions of an earlier fit
        self.feature_names_ = list(self.features) if self.features is not None else list(
            x.columns)
        self.categorical_ = [c for c in self.categorical if c in self.feature_names_]
        self.organs_ = list(self.organs)
        yv = y[self.organs_].to_numpy(np.float64)
        ct = x["cancer_type"].to_numpy(np.float64)
        self.prior_ = SubtypePrior(self.prior_strength).fit(ct, x["subtype"].to_numpy(np.float64),
                                                            yv)
        self.train_prevalence_ = dict(zip(self.organs_, np.nanmean(yv, axis=0).tolist(),
                                          strict=True))
        self.summary_medians_ = type_medians(x, [c for c in self.missing_as_type_median
                                                  if c in self.feature_names_])
        self.interactions_: list[tuple[int, float]] = []
        data = self._as_trees_read(x[self.feature_names_].to_numpy(np.float32))
        self.interactions_ = self._select_interactions(data)
        if self.interactions_:
            data = np.ascontiguousarray(np.hstack([data, self._interaction_columns(data)]))
        init = self._prior_logit(x)
        if self.rounds is not None or eval_set is not None:
            held_out = None
            if eval_set is not None and self.rounds is None:
                x_val, y_val = eval_set
                held_out = (self._tree_matrix(x_val[self.feature_names_].to_numpy(np.float32)),
                            self._prior_logit(x_val), y_val[self.organs_].to_numpy(np.float64))
            self.fits_ = self._fit_all_rows(data, init, yv, held_out)
            return self
        tr, va = self._validation_split(ct)
        rows = _Rows(data, init, tr, va)
        shared = self._shared_datasets(rows)
        self.fits_: dict[str, OrganFit] = {}
        for j, organ in enumerate(self.organs_):
            self.fits_[organ] = self._fit_organ(organ, yv[:, j], j, rows, shared)
        return self

    def _fit_all_rows(self, data: np.ndarray, init: np.ndarray, labels: np.ndarray,
                      held_out: tuple[np.ndarray, np.ndarray, np.ndarray] | None
                      ) -> dict[str, OrganFit]:
        """Every organ's booster on every row: for its chosen `rounds`, or early-stopped on
        `held_out` (trees data, prior log-odds, labels) with the held-out loss recorded."""
        params = self._lgb_params()
        fits: dict[str, OrganFit] = {}
        train_set = None
        for j, organ in enumerate(self.organs_):
            lab = np.ascontiguousarray(labels[:, j])
            keep = ~np.isnan(lab)
            n_pos = int(np.nansum(lab))
            rounds = (self.n_estimators if self.rounds is None
                      else int(self.rounds.get(organ, 0)))
            if n_pos < self.min_positives:
                fits[organ] = OrganFit(organ, None, IDENTITY, n_pos, 0,
                                       f"not trained: {n_pos} positives < {self.min_positives}")
                continue
            if rounds <= 0:  # the cross-validation found nothing beyond the prior
                fits[organ] = OrganFit(organ, None, IDENTITY, n_pos, 0, "trained")
                continue
            if keep.all():  # one binned dataset for every organ with all labels known
                if train_set is None:
                    train_set = lgb.Dataset(data, label=np.zeros(len(data)),
                                            feature_name=self.tree_feature_names_,
                                            categorical_feature=self.categorical_,
                                            params=params, free_raw_data=False).construct()
                dtr = train_set
                dtr.set_label(lab)
                dtr.set_init_score(np.ascontiguousarray(init[:, j]))
            else:
                dtr = lgb.Dataset(data[keep], label=lab[keep], init_score=init[keep, j],
                                  feature_name=self.tree_feature_names_,
                                  categorical_feature=self.categorical_, params=params)
            if held_out is None:
                booster = lgb.train(params, dtr, num_boost_round=rounds)
                fits[organ] = OrganFit(organ, booster, IDENTITY, n_pos, rounds, "trained")
                continue
            x_val, init_val, y_val = held_out
            known = ~np.isnan(y_val[:, j])
            dva = lgb.Dataset(x_val[known], label=y_val[known, j],
                              init_score=np.ascontiguousarray(init_val[known, j]),
                              reference=dtr, feature_name=self.tree_feature_names_,
                              categorical_feature=self.categorical_, params=params)
            record: dict[str, dict[str, list[float]]] = {}
            callbacks = [lgb.record_evaluation(record)]
            if self.early_stopping_rounds:
                callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False,
                                                    first_metric_only=True))
            booster = lgb.train({**params, "metric": "binary_logloss"}, dtr,
                                num_boost_round=rounds, valid_sets=[dva], valid_names=["held_out"],
                                callbacks=callbacks, keep_training_booster=True)
            # every round trained, past the fold's own best, is kept: the rounds are chosen
            # later; the copy frees the training dataset the booster holds
            loss = np.asarray(record["held_out"]["binary_logloss"], dtype=np.float64)
            fits[organ] = OrganFit(organ, _truncate(booster, len(loss)), IDENTITY, n_pos,
                                   int(np.argmin(loss)) + 1, "trained", loss)
        return fits

    def truncated(self, rounds: Mapping[str, int]) -> OrganotropismModel:
        """A copy keeping each organ's first `rounds[organ]` trees (0: the prior alone);
        organs not named keep theirs."""
        check_is_fitted(self, "fits_")
        fits = {}
        for organ, fit in self.fits_.items():
            keep = rounds.get(organ)
            if keep is None or fit.booster is None:
                fits[organ] = fit
                continue
            keep = min(int(keep), fit.booster.current_iteration())
            fits[organ] = replace(fit, booster=_truncate(fit.booster, keep) if keep > 0
                                  else None, best_iteration=keep)
        return self._with_fits(fits)

    def with_calibration(self, calibration: Mapping[str, tuple[float, float]]
                         ) -> OrganotropismModel:
        """A copy whose organs in `calibration` take that (Platt slope, intercept)."""
        check_is_fitted(self, "fits_")
        return self._with_fits({o: replace(f, calibration=Calibration(*map(float, calibration[o])))
                                if o in calibration else f for o, f in self.fits_.items()})

    def _with_fits(self, fits: dict[str, OrganFit]) -> OrganotropismModel:
        twin = copy.copy(self)
        twin.__dict__ = {k: v for k, v in self.__dict__.items() if not k.endswith("_cache")}
        twin.fits_ = fits
        return twin

    def raw_scores(self, x: pd.DataFrame | ModelInputs,
                   booster_raw: Callable[[str, lgb.Booster], np.ndarray] | None = None
                   ) -> np.ndarray:
        """Uncalibrated log-odds, (n, organs): the prior's plus each trained organ's raw
        booster score (`booster_raw(organ, booster)`, however computed; LightGBM's by
        default), what Platt calibration is fitted on."""
        inputs = self.inputs(x)
        if booster_raw is None:
            def booster_raw(_: str, booster: lgb.Booster) -> np.ndarray:
                return booster.predict(inputs.data, raw_score=True)
        out = inputs.prior_logit.copy()
        for j, organ in enumerate(self.organs_):
            booster = self.fits_[organ].booster
            if booster is not None:
                out[:, j] = out[:, j] + booster_raw(organ, booster)
        return out

    @classmethod
    def join(cls, parts: Sequence[OrganotropismModel]) -> OrganotropismModel:
        """One model over the organs of `parts`, in order, each part fitted on the same rows
        with the same settings. An organ's booster, calibration and prior depend only on its
        own labels, so the join equals the model fitted on all organs at once; this is how
        organ-by-organ tasks (`_folds`, the dask engine) give the local engine's numbers."""
        for part in parts:
            check_is_fitted(part, "fits_")
        first = parts[0]
        settings = {k: v for k, v in first.get_params().items() if k not in ("organs", "n_jobs")}
        for part in parts[1:]:
            theirs = {k: v for k, v in part.get_params().items() if k not in ("organs", "n_jobs")}
            if (theirs != settings or part.feature_names_ != first.feature_names_
                    or part.summary_medians_ != first.summary_medians_
                    or part._interactions() != first._interactions()):
                raise ModelError("models fitted with other settings or features do not join")
        organs = [organ for part in parts for organ in part.organs_]
        if len(set(organs)) < len(organs):
            raise ModelError(f"an organ is in more than one model: {organs}")
        joined = cls(**{**first.get_params(), "organs": organs})
        joined.feature_names_ = list(first.feature_names_)
        joined.categorical_ = list(first.categorical_)
        joined.organs_ = organs
        joined.prior_ = SubtypePrior.stack([part.prior_ for part in parts])
        joined.train_prevalence_ = {o: p.train_prevalence_[o] for p in parts for o in p.organs_}
        joined.summary_medians_ = first.summary_medians_
        joined.interactions_ = first._interactions()
        joined.fits_ = {o: p.fits_[o] for p in parts for o in p.organs_}
        return joined

    def _check_fit_inputs(self, x: pd.DataFrame, y: pd.DataFrame) -> None:
        for needed in ("cancer_type", "subtype"):
            if needed not in x.columns:
                raise ModelError(f"feature column {needed!r} is required by the prior")
        missing = [o for o in self.organs if o not in y.columns]
        if missing:
            raise ModelError(f"no label column for organ(s) {', '.join(missing)}")

    def _validation_split(self, cancer_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation rows (early stopping, Platt), stratified by cancer type
        (types with a single row pooled)."""
        strat = np.nan_to_num(cancer_type, nan=-1).astype(int)
        counts = pd.Series(strat).value_counts()
        strat = np.where(pd.Series(strat).map(counts).to_numpy() < 2, -2, strat)
        split = StratifiedShuffleSplit(1, test_size=self.valid_fraction,
                                       random_state=self.random_state)
        return next(split.split(np.zeros(len(cancer_type)), strat))

    def _shared_datasets(self, rows: _Rows) -> tuple[lgb.Dataset, lgb.Dataset]:
        """LightGBM's binned training and validation sets, built once for every organ whose
        labels are all known (only labels and init scores change between organs)."""
        params = self._lgb_params()
        train_set = lgb.Dataset(rows.data[rows.train], label=np.zeros(len(rows.train)),
                                feature_name=self.tree_feature_names_,
                                categorical_feature=self.categorical_, params=params,
                                free_raw_data=False).construct()
        valid_set = lgb.Dataset(rows.data[rows.valid], label=np.zeros(len(rows.valid)),
                                reference=train_set, feature_name=self.tree_feature_names_,
                                categorical_feature=self.categorical_, params=params,
                                free_raw_data=False).construct()
        return train_set, valid_set

    def _fit_organ(self, organ: str, labels: np.ndarray, j: int, rows: _Rows,
                   shared: tuple[lgb.Dataset, lgb.Dataset]) -> OrganFit:
        """One organ's booster over the prior (early-stopped), Platt-calibrated on the
        validation rows; or why it is not trained."""
        tr, va = rows.train, rows.valid
        lab_tr, lab_va = labels[tr], labels[va]
        keep_tr, keep_va = ~np.isnan(lab_tr), ~np.isnan(lab_va)
        n_pos = int(np.nansum(labels))
        if n_pos < self.min_positives or np.nansum(lab_va) < 5:
            return OrganFit(organ, None, IDENTITY, n_pos, 0,
                            f"not trained: {n_pos} positives < {self.min_positives}")
        params = self._lgb_params()
        init = rows.init[:, j]
        if keep_tr.all() and keep_va.all():
            dtr, dva = shared
            dtr.set_label(lab_tr)
            dtr.set_init_score(init[tr])
            dva.set_label(lab_va)
            dva.set_init_score(init[va])
        else:  # rows with an unknown flag for this organ: a dataset of its own
            dtr = lgb.Dataset(rows.data[tr][keep_tr], label=lab_tr[keep_tr],
                              init_score=init[tr][keep_tr], feature_name=self.tree_feature_names_,
                              categorical_feature=self.categorical_, params=params)
            dva = lgb.Dataset(rows.data[va][keep_va], label=lab_va[keep_va],
                              init_score=init[va][keep_va], reference=dtr, params=params,
                              feature_name=self.tree_feature_names_,
                              categorical_feature=self.categorical_)
        booster = lgb.train(params, dtr, num_boost_round=self.n_estimators, valid_sets=[dva],
                            callbacks=[lgb.early_stopping(self.early_stopping_rounds,
                                                          verbose=False)])
        best = max(int(booster.best_iteration or 0), 1)
        raw_va = init[va][keep_va] + booster.predict(rows.data[va][keep_va],
                                                     num_iteration=best, raw_score=True)
        slope, intercept = platt(raw_va, lab_va[keep_va])
        return OrganFit(organ, _truncate(booster, best), (slope, intercept), n_pos, best,
                        "trained")

    @property
    def tree_feature_names_(self) -> list[str]:
        """The columns the trees read: the features, then one per type interaction."""
        return list(self.feature_names_) + [
            f"{self.feature_names_[f]}__in_type_{int(t)}" for f, t in self._interactions()]

    def tree_feature_of(self) -> np.ndarray:
        """For each column the trees read, the model feature it belongs to (an interaction
        column belongs to its alteration flag)."""
        return np.concatenate([np.arange(len(self.feature_names_)),
                               np.asarray([f for f, _ in self._interactions()], dtype=np.int64)]
                              ).astype(np.int64)

    def _interactions(self) -> list[tuple[int, float]]:
        return list(getattr(self, "interactions_", []))  # absent from older bundles

    def _select_interactions(self, data: np.ndarray) -> list[tuple[int, float]]:
        """(flag position, cancer-type code) pairs with at least `type_interactions`
        carriers and non-carriers within the type, from the trees' view of the flags."""
        if self.type_interactions <= 0:
            return []
        flags = self._absent_positions()
        cancer_type = data[:, self.feature_names_.index("cancer_type")]
        pairs = []
        for code in np.unique(cancer_type[~np.isnan(cancer_type)]):
            rows = cancer_type == code
            carriers = (data[np.ix_(rows, flags)] == 1).sum(axis=0)
            enough = (carriers >= self.type_interactions) & (
                rows.sum() - carriers >= self.type_interactions)
            pairs += [(int(f), float(code)) for f in flags[enough]]
        return sorted(pairs)

    def _interaction_columns(self, data: np.ndarray) -> np.ndarray:
        """(n, interactions): each flag where the row's cancer type is the pair's, else 0."""
        pairs = self._interactions()
        cancer_type = data[:, self.feature_names_.index("cancer_type")]
        out = np.zeros((len(data), len(pairs)), dtype=np.float32)
        for k, (f, code) in enumerate(pairs):
            out[:, k] = np.where(cancer_type == code, data[:, f], 0.0)
        return out

    def inputs(self, x: pd.DataFrame | ModelInputs) -> ModelInputs:
        """Convert a feature frame once (idempotent on `ModelInputs`)."""
        if isinstance(x, ModelInputs):
            return x
        check_is_fitted(self, "fits_")
        cache = self.__dict__.setdefault("_columns_cache", {})
        if "index" not in cache:
            cache["index"] = pd.Index(self.feature_names_)
        frame = x if x.columns.equals(cache["index"]) else x[self.feature_names_]
        as_built = np.ascontiguousarray(frame.to_numpy(np.float32))
        return ModelInputs(self._tree_matrix(as_built), self._prior_logit(x), x.index,
                           as_built)

    def _tree_matrix(self, values: np.ndarray) -> np.ndarray:
        """What the trees read (`_as_trees_read`), with the type-interaction columns."""
        data = self._as_trees_read(values)
        if not self._interactions():
            return data
        return np.ascontiguousarray(np.hstack([data, self._interaction_columns(data)]))

    def _absent_positions(self) -> np.ndarray:
        """Column positions of `unprofiled_as_absent` among the model's features (cached)."""
        cache = self.__dict__.setdefault("_columns_cache", {})
        if "absent" not in cache:
            wanted = set(self.unprofiled_as_absent)
            cache["absent"] = np.asarray([j for j, f in enumerate(self.feature_names_)
                                          if f in wanted], dtype=np.int64)
        return cache["absent"]

    def _median_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(column positions, sorted cancer-type codes, medians by code, overall medians) of
        `summary_medians_` as arrays (cached)."""
        cache = self.__dict__.setdefault("_columns_cache", {})
        if "medians" not in cache:
            fitted = getattr(self, "summary_medians_", {})  # absent from older bundles
            names = [c for c in fitted if c in self.feature_names_]
            codes = np.asarray(sorted({float(k) for c in names for k in fitted[c]["by_type"]}),
                               dtype=np.float64)
            by_type = np.array([[fitted[c]["by_type"].get(code_key(code), fitted[c]["overall"])
                                 for c in names] for code in codes],
                               dtype=np.float32).reshape(len(codes), len(names))
            cache["medians"] = (
                np.asarray([self.feature_names_.index(c) for c in names], dtype=np.int64),
                codes, by_type,
                np.asarray([fitted[c]["overall"] for c in names], dtype=np.float32))
        return cache["medians"]

    def _as_trees_read(self, data: np.ndarray) -> np.ndarray:
        """What the trees are trained on and predict from: `data` itself when no column is
        read differently, else a copy with NaN read as 0 in the `unprofiled_as_absent`
        columns and as the cancer type's median in the `missing_as_type_median` ones
        (`data`, the caller's values, is never modified)."""
        positions = self._absent_positions()
        summaries, codes, by_type, overall = self._median_table()
        missing = np.isnan(data[:, summaries]) if len(summaries) else None
        impute = missing is not None and missing.any()
        if not len(positions) and not impute:
            return data
        data = data.copy()
        if len(positions):
            block = data[:, positions]
            block[np.isnan(block)] = 0.0
            data[:, positions] = block
        if impute:
            rows = np.flatnonzero(missing.any(axis=1))
            cancer_type = data[rows, self.feature_names_.index("cancer_type")]
            at = np.clip(np.searchsorted(codes, cancer_type), 0, max(len(codes) - 1, 0))
            known = (codes[at] == cancer_type) if len(codes) else np.zeros(len(rows), bool)
            fill = np.where(known[:, None], by_type[at] if len(codes) else overall, overall)
            block = data[np.ix_(rows, summaries)]
            gaps = missing[rows]
            block[gaps] = fill[gaps]
            data[np.ix_(rows, summaries)] = block
        return data

    def decision_function(self, x: pd.DataFrame | ModelInputs) -> np.ndarray:
        """Calibrated log-odds, (n, organs), from LightGBM (`_engine.ShapEngine` predicts
        the same numbers from compiled trees)."""
        inputs = self.inputs(x)
        return self.calibrated(inputs, lambda _, booster: booster.predict(inputs.data,
                                                                          raw_score=True))

    def calibrated(self, inputs: ModelInputs,
                   booster_raw: Callable[[str, lgb.Booster], np.ndarray]) -> np.ndarray:
        """Calibrated log-odds, (n, organs): `raw_scores` with each trained organ's raw
        booster score from `booster_raw(organ, booster)`, however computed, Platt-scaled."""
        out = self.raw_scores(inputs, booster_raw)
        for j, organ in enumerate(self.organs_):
            slope, intercept = self.fits_[organ].calibration
            out[:, j] = slope * out[:, j] + intercept
        return out

    def predict_proba(self, x: pd.DataFrame | ModelInputs) -> pd.DataFrame:
        """Calibrated probability of metastasis to each organ, columns = organs."""
        inputs = self.inputs(x)
        return pd.DataFrame(sigmoid(self.decision_function(inputs)), index=inputs.index,
                            columns=self.organs_)

    def predict_interval(self, x: pd.DataFrame | ModelInputs,
                         probabilities: pd.DataFrame | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """(low, high): the Venn-ABERS interval [p0, p1] of each organ's probability, from
        the predictor of the row's cancer type (`_intervals`, fitted on the experiment's
        out-of-fold probabilities); None for a model without one (a fold's, an older
        bundle's). `probabilities`: this model's, when already computed."""
        intervals = getattr(self, "intervals_", None)
        if intervals is None:
            return None
        inputs = self.inputs(x)
        if probabilities is None:
            probabilities = self.predict_proba(inputs)
        return intervals.predict(probabilities, self.cancer_type_codes(inputs))

    def cancer_type_codes(self, x: pd.DataFrame | ModelInputs) -> np.ndarray:
        """Each row's cancer-type code as the model reads it (NaN: unknown)."""
        inputs = self.inputs(x)
        if "cancer_type" not in self.feature_names_:
            return np.full(len(inputs.index), np.nan)
        return inputs.as_built[:, self.feature_names_.index("cancer_type")].astype(np.float64)

    def with_intervals(self, intervals: ProbabilityIntervals) -> OrganotropismModel:
        """A copy carrying `intervals` (fitted on its out-of-fold probabilities)."""
        twin = self._with_fits(dict(self.fits_))
        twin.intervals_ = intervals
        return twin

    def prior_proba(self, x: pd.DataFrame | ModelInputs) -> pd.DataFrame:
        """The subtype prior alone (the cancer-type baseline rate), columns = organs."""
        inputs = self.inputs(x)
        return pd.DataFrame(sigmoid(inputs.prior_logit), index=inputs.index,
                            columns=self.organs_)

    def __getstate__(self) -> dict[str, object]:
        # column caches are rebuilt on demand, never pickled or cloned
        state = super().__getstate__()
        return {k: v for k, v in state.items() if not k.endswith("_cache")}


def probability_column_names(model: OrganotropismModel) -> list[str]:
    """The probability columns of a scored table: `p_<ORGAN>`, each followed, for a model
    with intervals, by its Venn-ABERS bounds `p_<ORGAN>_low` and `p_<ORGAN>_high`."""
    with_bounds = getattr(model, "intervals_", None) is not None
    return [name for organ in model.organs_
            for name in ([f"p_{organ}", f"p_{organ}_low", f"p_{organ}_high"] if with_bounds
                         else [f"p_{organ}"])]


def probability_columns(model: OrganotropismModel, x: pd.DataFrame | ModelInputs,
                        proba: np.ndarray | None = None) -> pd.DataFrame:
    """The columns `probability_column_names` names, for the rows of `x` (`proba`: the
    model's probabilities (n, organs), when already computed)."""
    inputs = model.inputs(x)
    frame = pd.DataFrame(model.predict_proba(inputs).to_numpy() if proba is None else proba,
                         index=inputs.index, columns=model.organs_)
    columns = {f"p_{o}": frame[o].to_numpy() for o in model.organs_}
    bounds = model.predict_interval(inputs, frame)
    if bounds is not None:
        for organ in model.organs_:
            columns[f"p_{organ}_low"] = bounds[0][organ].to_numpy()
            columns[f"p_{organ}_high"] = bounds[1][organ].to_numpy()
    return pd.DataFrame(columns, index=inputs.index)[probability_column_names(model)]


def _truncate(booster: lgb.Booster, n_iter: int) -> lgb.Booster:
    """A booster keeping only the first `n_iter` trees (what early stopping chose)."""
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=n_iter))


def platt(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling on the log-odds `score`, lightly ridged toward the identity."""
    return fit_logistic_on_logit(score, y, ridge=1e-3)
