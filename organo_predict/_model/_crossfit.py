"""The cross-validation that fits the model: it chooses each organ's boosting rounds, fits
the Platt calibration on out-of-fold scores, and gives the out-of-fold predictions the
evaluation reads.

Each fold's booster trains on every row of its training folds and records its held-out loss
after every round (`OrganotropismModel.fit(..., eval_set=...)`). Then, per organ:

- a fold's out-of-fold predictions use the rounds that minimise the mean held-out loss of
  the *other* folds, and a calibration fitted on the other folds' out-of-fold scores, so no
  choice made for a patient's prediction looked at that patient's label (cross-fitting);
- the final model trains on every row for the rounds that minimise the mean held-out loss of
  all folds, and takes the calibration fitted on all out-of-fold scores.

One 20% validation split (the earlier way) both chose the rounds on few positives, so the
boosters stopped after a handful of trees, and kept a fifth of the rows from the final
trees; docs/results.md has the comparison. Pure computation: the fits run on `_folds`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from .._base._threads import usable_cores
from ._boosting import platt
from ._folds import Engine, FitTask, run_fits
from ._models import OrganotropismModel

__all__ = ["CrossFit", "balanced_groups", "choose_rounds", "cross_fit"]

Log = Callable[[str], None]
ModelFactory = Callable[..., OrganotropismModel]


@dataclass
class CrossFit:
    """The folds' models (rounds and calibration cross-fitted), the final model, and the
    out-of-fold probabilities of the model, its prior and the clinical baseline (n, organs)."""

    folds: list[tuple[np.ndarray, np.ndarray]]
    fold_models: list[OrganotropismModel]
    final: OrganotropismModel
    oof_model: np.ndarray
    oof_prior: np.ndarray
    oof_clinical: np.ndarray
    rounds: dict[str, int]  # the final model's rounds per organ
    fold_rounds: dict[str, list[int]]  # each fold's out-of-fold rounds per organ


def choose_rounds(losses: Sequence[np.ndarray | None]) -> tuple[list[int], int]:
    """Rounds per fold (from the other folds' mean held-out loss: a fold's own loss never
    chooses its rounds, only its length bounds them) and for the final model (from every
    fold's), over the rounds that every fold recorded; 0 where a fold has no curve (its
    booster was not trained)."""
    if any(loss is None or len(loss) == 0 for loss in losses):
        return [0] * len(losses), 0

    length = min(len(c) for c in losses)  # a fold stops `patience` rounds past its best

    def best(curves: Sequence[np.ndarray]) -> int:
        return int(np.argmin(np.mean([c[:length] for c in curves], axis=0))) + 1

    per_fold = [best([c for i, c in enumerate(losses) if i != k]) for k in range(len(losses))]
    return per_fold, best(list(losses))


def balanced_groups(cost: dict[str, float], n_groups: int) -> list[list[str]]:
    """The organs of `cost`, in order, cut into at most `n_groups` consecutive groups whose
    largest total cost is the smallest possible (joined models keep the organs' order)."""
    organs = list(cost)
    n_groups = max(1, min(n_groups, len(organs)))
    sums = np.concatenate([[0.0], np.cumsum([cost[o] for o in organs])])
    n = len(organs)
    # best[g][i]: the smallest largest group over the first i organs in g groups
    best = np.full((n_groups + 1, n + 1), np.inf)
    cut = np.zeros((n_groups + 1, n + 1), dtype=int)
    best[0][0] = 0.0
    for g in range(1, n_groups + 1):
        for i in range(1, n + 1):
            for j in range(g - 1, i):
                value = max(best[g - 1][j], sums[i] - sums[j])
                if value < best[g][i]:
                    best[g][i], cut[g][i] = value, j
    groups, i = [], n
    for g in range(n_groups, 0, -1):
        groups.append(organs[cut[g][i]:i])
        i = cut[g][i]
    return [group for group in reversed(groups) if group]


def cross_fit(make_model: ModelFactory, make_clinical: ModelFactory, x: pd.DataFrame,
              y: pd.DataFrame, folds: Sequence[tuple[np.ndarray, np.ndarray]],
              engine: Engine = "local", scheduler: str | None = None, log: Log = print,
              ) -> CrossFit:
    """Fit the folds, choose rounds and calibration, fit the final model (see the module's
    docstring). `make_model(n_jobs=..., organs=..., rounds=...)` makes unfitted models."""
    organs = list(y.columns)
    labels = y.to_numpy(np.float64)
    tasks = [FitTask(train, test) for train, test in folds]
    # locally, folds that do not share out evenly over the workers are cut into one organ
    # group per worker so that every worker stays busy to the end (5 folds on 2 cores);
    # dask groups organs by its own rule (`_folds`)
    workers = usable_cores()
    fold_groups = (balanced_groups({o: 1.0 for o in organs}, workers)
                   if engine == "local" and len(tasks) % workers else None)
    models, clinicals = [], []
    for k, result in enumerate(run_fits(tasks, make_model, make_clinical, x, y, engine,
                                        scheduler, log, organ_groups=fold_groups)):
        models.append(result.model)
        clinicals.append(result.clinical)
        log(f"fold {k + 1}/{len(tasks)} fitted")
    fold_models, oof_model, oof_raw, rounds, fold_rounds = _cross_fitted(models, x, labels,
                                                                         folds)
    _, oof_clinical, _, _, _ = _cross_fitted(clinicals, x, labels, folds)
    oof_prior = np.full(labels.shape, np.nan)
    for (_, test), model in zip(folds, fold_models, strict=True):
        oof_prior[test] = model.prior_proba(x.iloc[test]).to_numpy()
    final_groups = (balanced_groups({o: float(max(rounds[o], 1)) for o in organs}, workers)
                    if engine == "local" else None)
    final = next(iter(run_fits([FitTask(np.arange(len(x)), None)],
                               partial(make_model, rounds=rounds), make_clinical, x, y, engine,
                               scheduler, log, organ_groups=final_groups)))
    calibration = _calibration(oof_raw, labels, _trained(final.model), None, folds, organs)
    return CrossFit(list(folds), fold_models, final.model.with_calibration(calibration),
                    oof_model, oof_prior, oof_clinical, rounds, fold_rounds)


def _cross_fitted(models: list[OrganotropismModel], x: pd.DataFrame, labels: np.ndarray,
                  folds: Sequence[tuple[np.ndarray, np.ndarray]]
                  ) -> tuple[list[OrganotropismModel], np.ndarray, np.ndarray,
                             dict[str, int], dict[str, list[int]]]:
    """The folds' models truncated to their cross-fitted rounds and calibrated on the other
    folds' out-of-fold scores; their out-of-fold probabilities and raw scores; the final
    rounds, and each fold's."""
    organs = models[0].organs_
    rounds: dict[str, int] = {}
    fold_rounds: dict[str, list[int]] = {}
    for organ in organs:
        per_fold, final = choose_rounds([m.fits_[organ].valid_loss for m in models])
        fold_rounds[organ], rounds[organ] = per_fold, final
    truncated = [m.truncated({o: fold_rounds[o][k] for o in organs})
                 for k, m in enumerate(models)]
    raw = _raw_oof(truncated, x, folds, labels.shape)
    out, calibrated = np.full(labels.shape, np.nan), []
    for k, (model, (_, test)) in enumerate(zip(truncated, folds, strict=True)):
        model = model.with_calibration(_calibration(raw, labels, _trained(model), k, folds,
                                                       organs))
        calibrated.append(model)
        out[test] = model.predict_proba(x.iloc[test]).to_numpy()
    return calibrated, out, raw, rounds, fold_rounds


def _trained(model: OrganotropismModel) -> list[str]:
    """The organs calibrated: those trained (an organ with too few positives keeps the
    identity, as it always has)."""
    return [o for o in model.organs_ if model.fits_[o].status == "trained"]


def _raw_oof(models: Sequence[OrganotropismModel], x: pd.DataFrame,
             folds: Sequence[tuple[np.ndarray, np.ndarray]], shape: tuple[int, int]
             ) -> np.ndarray:
    raw = np.full(shape, np.nan)
    for model, (_, test) in zip(models, folds, strict=True):
        raw[test] = model.raw_scores(x.iloc[test])
    return raw


def _calibration(oof_raw: np.ndarray, labels: np.ndarray, organs: Sequence[str],
                 fold: int | None, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                 columns: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Platt (slope, intercept) of each of `organs` (`columns`: the organ of each column) on
    out-of-fold scores: of every fold but `fold`, or of all folds (None)."""
    use = np.ones(len(labels), dtype=bool)
    if fold is not None:
        use[folds[fold][1]] = False
    out = {}
    for organ in organs:
        j = list(columns).index(organ)
        keep = use & ~np.isnan(labels[:, j]) & ~np.isnan(oof_raw[:, j])
        out[organ] = platt(oof_raw[keep, j], labels[keep, j])
    return out
