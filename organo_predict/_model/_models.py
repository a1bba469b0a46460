"""Per-organ models: a cancer-type/subtype prior plus a LightGBM residual, Platt-calibrated.

Each organ's booster starts from the prior's log-odds (`init_score`), so it learns only what
the tumor's genomics add beyond cancer type and subtype; with nothing to add, early stopping
leaves it at the prior. Pure computation: no file or network IO here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._base._errors import ModelError
from .._cohort._organs import ORGANS
from ._boosting import BoostingMixin, OrganFit, TrainingRows, truncate_booster
from ._inputs import InputReadingMixin, ModelInputs
from ._intervals import ProbabilityIntervals
from ._prior import Calibration, SubtypePrior, sigmoid, type_medians

__all__ = ["OrganotropismModel", "probability_column_names"]


class OrganotropismModel(InputReadingMixin, BoostingMixin, BaseEstimator):
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
        rows = TrainingRows(data, init, tr, va)
        shared = self._shared_datasets(rows)
        self.fits_: dict[str, OrganFit] = {}
        for j, organ in enumerate(self.organs_):
            self.fits_[organ] = self._fit_organ(organ, yv[:, j], j, rows, shared)
        return self

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
            fits[organ] = replace(fit, booster=truncate_booster(fit.booster, keep) if keep > 0
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

    def to_state(self) -> tuple[dict[str, object], dict[str, lgb.Booster]]:
        """The fitted model as JSON-ready values and its boosters by file name
        (`boosters/<ORGAN>.txt`), which the state names: what a bundle writes. The
        probability intervals are apart (`intervals_.to_state()`), an optional file."""
        check_is_fitted(self, "fits_")
        params = self.get_params()
        for key in ("organs", "categorical", "unprofiled_as_absent", "missing_as_type_median"):
            params[key] = list(params[key])
        params["features"] = None if params["features"] is None else list(params["features"])
        boosters = {f"boosters/{organ}.txt": fit.booster for organ, fit in self.fits_.items()
                    if fit.booster is not None}
        organs = {organ: {"calibration": list(fit.calibration), "n_positives": fit.n_positives,
                          "best_iteration": fit.best_iteration, "status": fit.status,
                          "booster": f"boosters/{organ}.txt" if fit.booster else None}
                  for organ, fit in self.fits_.items()}
        state = {
            "params": params, "feature_names_": self.feature_names_,
            "categorical_": self.categorical_, "organs_": self.organs_,
            "train_prevalence_": self.train_prevalence_,
            "summary_medians_": getattr(self, "summary_medians_", {}),
            "interactions_": [[int(f), float(t)] for f, t in self._interactions()],
            "prior": self.prior_.to_state(), "organs": organs,
        }
        return state, boosters

    @classmethod
    def from_state(cls, state: Mapping[str, object],
                   boosters: Mapping[str, lgb.Booster]) -> OrganotropismModel:
        """The model `to_state` described, with its boosters (already read and checked)."""
        model = cls(**state["params"])
        model.feature_names_ = state["feature_names_"]
        model.categorical_ = state["categorical_"]
        model.organs_ = state["organs_"]
        model.train_prevalence_ = state["train_prevalence_"]
        model.summary_medians_ = state.get("summary_medians_", {})  # older bundles: none
        model.interactions_ = [(int(f), float(t)) for f, t in state.get("interactions_", [])]
        model.prior_ = SubtypePrior.from_state(state["prior"])
        model.fits_ = {
            organ: OrganFit(organ, boosters[info["booster"]] if info["booster"] else None,
                            Calibration(*info["calibration"]), info["n_positives"],
                            info["best_iteration"], info["status"])
            for organ, info in state["organs"].items()}
        return model

    def probability_table(self, x: pd.DataFrame | ModelInputs,
                          proba: np.ndarray | None = None) -> pd.DataFrame:
        """The columns `probability_column_names` names, for the rows of `x`: each organ's
        calibrated probability and, for a model with intervals, its bounds (`proba`: the
        probabilities (n, organs), when already computed)."""
        inputs = self.inputs(x)
        frame = pd.DataFrame(self.predict_proba(inputs).to_numpy() if proba is None else proba,
                             index=inputs.index, columns=self.organs_)
        columns = {f"p_{o}": frame[o].to_numpy() for o in self.organs_}
        bounds = self.predict_interval(inputs, frame)
        if bounds is not None:
            for organ in self.organs_:
                columns[f"p_{organ}_low"] = bounds[0][organ].to_numpy()
                columns[f"p_{organ}_high"] = bounds[1][organ].to_numpy()
        return pd.DataFrame(columns, index=inputs.index)[probability_column_names(self)]

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
