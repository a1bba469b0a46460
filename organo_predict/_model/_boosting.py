"""How `OrganotropismModel` fits its boosters: LightGBM's settings, one organ's booster
over the prior's log-odds (early-stopped on a validation split and Platt-calibrated, on
a fold's held-out rows, or for rounds chosen beforehand), and the datasets shared across
organs. Pure computation."""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedShuffleSplit

from .._base._threads import usable_cores
from ._prior import Calibration, fit_logistic_on_logit

__all__ = ["IDENTITY", "BoostingMixin", "OrganFit", "TrainingRows", "platt", "truncate_booster"]

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
class TrainingRows:
    """The training matrix as the trees read it, the prior's log-odds, and the training and
    validation rows of a fit."""

    data: np.ndarray
    init: np.ndarray
    train: np.ndarray
    valid: np.ndarray


class BoostingMixin:
    """`OrganotropismModel`'s booster fitting. Reads the estimator's LightGBM settings and
    its fitted `organs_`, `categorical_` and `tree_feature_names_`."""

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
            fits[organ] = OrganFit(organ, truncate_booster(booster, len(loss)), IDENTITY, n_pos,
                                   int(np.argmin(loss)) + 1, "trained", loss)
        return fits

    def _validation_split(self, cancer_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation rows (early stopping, Platt), stratified by cancer type
        (types with a single row pooled)."""
        strat = np.nan_to_num(cancer_type, nan=-1).astype(int)
        counts = pd.Series(strat).value_counts()
        strat = np.where(pd.Series(strat).map(counts).to_numpy() < 2, -2, strat)
        split = StratifiedShuffleSplit(1, test_size=self.valid_fraction,
                                       random_state=self.random_state)
        return next(split.split(np.zeros(len(cancer_type)), strat))

    def _shared_datasets(self, rows: TrainingRows) -> tuple[lgb.Dataset, lgb.Dataset]:
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

    def _fit_organ(self, organ: str, labels: np.ndarray, j: int, rows: TrainingRows,
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
        return OrganFit(organ, truncate_booster(booster, best), Calibration(slope, intercept),
                        n_pos, best,
                        "trained")


def truncate_booster(booster: lgb.Booster, n_iter: int) -> lgb.Booster:
    """A booster keeping only the first `n_iter` trees (what early stopping chose)."""
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=n_iter))


def platt(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling on the log-odds `score`, lightly ridged toward the identity."""
    return fit_logistic_on_logit(score, y, ridge=1e-3)
