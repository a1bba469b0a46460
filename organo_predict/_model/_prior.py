"""What is known of a patient's cancer type before the tumor's genomics, and the logistic
arithmetic the models share: organ rates by subtype shrunk to the cancer type and the overall
rate, each cancer type's median whole-tumor measurements (what a missing one is read as),
logit and sigmoid, and the logistic fit on log-odds behind Platt calibration and the
calibration slope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._base._errors import ModelError

__all__ = ["Calibration", "SubtypePrior", "code_key", "fit_logistic_on_logit", "logit", "sigmoid",
           "type_medians"]

_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class SubtypePrior(BaseEstimator):
    """Organ rates by subtype, shrunk to the cancer-type rate, shrunk to the overall rate.

    rate(subtype) = (positives + k * rate(type)) / (n + k); unknown levels fall back a tier.
    """

    def __init__(self, strength: float = 20.0) -> None:
        self.strength = strength

    def fit(self, cancer_type: np.ndarray, subtype: np.ndarray, y: np.ndarray) -> SubtypePrior:
        """`cancer_type`, `subtype`: codes (NaN unknown); `y`: (n, organs) 0/1 with NaN."""
        y = np.asarray(y, dtype=np.float64)
        known = ~np.isnan(y)
        yk = np.where(known, y, 0.0)
        self.global_ = yk.sum(0) / np.maximum(known.sum(0), 1)
        k = self.strength
        self.type_rates_: dict[float, np.ndarray] = {}
        for code in np.unique(cancer_type[~np.isnan(cancer_type)]):
            rows = cancer_type == code
            self.type_rates_[float(code)] = (yk[rows].sum(0) + k * self.global_) / (
                known[rows].sum(0) + k)
        self.subtype_rates_: dict[tuple[float, float], np.ndarray] = {}
        pairs = pd.DataFrame({"t": cancer_type, "s": subtype}).dropna().drop_duplicates()
        for t, s in pairs.itertuples(index=False):
            rows = (cancer_type == t) & (subtype == s)
            parent = self.type_rates_[float(t)]
            self.subtype_rates_[(float(t), float(s))] = (yk[rows].sum(0) + k * parent) / (
                known[rows].sum(0) + k)
        return self

    @classmethod
    def stack(cls, parts: Sequence[SubtypePrior]) -> SubtypePrior:
        """One prior over the organs of `parts`, in order: each organ's rates depend only on
        its own labels, so priors fitted one organ at a time on the same rows stack into the
        prior fitted on all of them at once."""
        first = parts[0]
        if any(p.strength != first.strength or p.type_rates_.keys() != first.type_rates_.keys()
               or p.subtype_rates_.keys() != first.subtype_rates_.keys() for p in parts):
            raise ModelError("priors fitted with other settings or cancer types do not stack")
        out = cls(first.strength)
        out.global_ = np.concatenate([p.global_ for p in parts])
        out.type_rates_ = {t: np.concatenate([p.type_rates_[t] for p in parts])
                           for t in first.type_rates_}
        out.subtype_rates_ = {k: np.concatenate([p.subtype_rates_[k] for p in parts])
                              for k in first.subtype_rates_}
        return out

    def to_state(self) -> dict[str, object]:
        """The fitted prior as JSON-ready values (a bundle's `model.json` carries it)."""
        check_is_fitted(self, "global_")
        return {"strength": self.strength, "global": self.global_.tolist(),
                "types": {str(k): v.tolist() for k, v in self.type_rates_.items()},
                "subtypes": [[t, s, v.tolist()] for (t, s), v in self.subtype_rates_.items()]}

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> SubtypePrior:
        """The prior `to_state` described."""
        out = cls(state["strength"])
        out.global_ = np.asarray(state["global"])
        out.type_rates_ = {float(k): np.asarray(v) for k, v in state["types"].items()}
        out.subtype_rates_ = {(float(t), float(s)): np.asarray(v)
                              for t, s, v in state["subtypes"]}
        return out

    def _rate(self, t: float, s: float) -> np.ndarray:
        """Subtype rate, else cancer-type rate, else the overall rate (unknown levels)."""
        if (t, s) in self.subtype_rates_:
            return self.subtype_rates_[(t, s)]
        return self.type_rates_.get(t, self.global_)

    def predict(self, cancer_type: np.ndarray, subtype: np.ndarray) -> np.ndarray:
        """(n, organs) prior probabilities."""
        check_is_fitted(self, "global_")
        out = np.tile(self.global_, (len(cancer_type), 1))
        if len(cancer_type) <= 16:  # a few patients: dictionary lookups beat a groupby
            for i, (t, s) in enumerate(zip(cancer_type, subtype, strict=True)):
                out[i] = self._rate(float(t), float(s))
            return out
        keys = pd.DataFrame({"t": cancer_type, "s": subtype})
        for (t, s), idx in keys.groupby(["t", "s"], dropna=False).indices.items():
            out[idx] = self._rate(float(t), float(s))
        return out


def code_key(code: float) -> str:
    """A cancer-type code as a JSON object key (bundles store `summary_medians_` as JSON)."""
    return str(int(code))


def type_medians(x: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, object]]:
    """Per column: the median of each cancer type (by its category code) and the overall
    median, over the rows where the value is known."""
    out: dict[str, dict[str, object]] = {}
    cancer_type = x["cancer_type"]
    for column in columns:
        values = x[column].astype(np.float64)
        known = values.notna() & cancer_type.notna()
        by_type = values[known].groupby(cancer_type[known]).median()
        overall = values.median()
        out[column] = {"by_type": {code_key(k): float(v) for k, v in by_type.items()},
                       "overall": float(overall) if np.isfinite(overall) else 0.0}
    return out


class Calibration(NamedTuple):
    """A logistic map of log-odds, new = intercept + slope x old: the Platt calibration of
    an organ's trees, and the update `recalibrate` fits on a user's labels. One type, one
    order (slope first), wherever a pair is kept or written."""

    slope: float
    intercept: float


def fit_logistic_on_logit(score: np.ndarray, y: np.ndarray, ridge: float = 0.0,
                          iters: int = 50) -> Calibration:
    """Slope and intercept of the logistic regression of y on `score` (Newton); `ridge`
    pulls the slope toward 1. Used for Platt calibration and the calibration slope."""
    a, b = 1.0, 0.0
    for _ in range(iters):
        p = sigmoid(a * score + b)
        w = p * (1 - p) + 1e-9
        grad = np.array([np.sum((p - y) * score) + ridge * (a - 1), np.sum(p - y)])
        hess = np.array([[np.sum(w * score * score) + ridge, np.sum(w * score)],
                         [np.sum(w * score), np.sum(w)]])
        step = np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(float(a), float(b))
