"""The explanation engine of one fitted model: exact TreeSHAP on the calibrated log-odds
scale, and the compiled tree walker that predicts with the same compiled trees.

The model predicts (`OrganotropismModel.decision_function`, through LightGBM); this engine,
built from a fitted model, explains it, and holds what that costs to build: the compiled
all-organ `LeafShap` (about a second, once per model) and one `TreeShap` per organ. Once the
trees are compiled (`compile()`, or a SHAP call on a few rows), `decision_function` walks them
in compiled code: identical numbers to LightGBM's, about twice as fast on wide rows. Scoring,
serving and the experiment share one engine per model through the `Explainer`.

A call on at most `FEW_ROWS` rows before anything was compiled (one patient, from a new
process: `organo-predict explain`) is answered by LightGBM's own exact TreeSHAP
(`pred_contrib`, the same numbers to float precision): compiling, or even importing the
compiled kernels (numba, ~1.3 s), would cost more than the whole answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._base._cache import cached_arrays
from .._model._inputs import ModelInputs
from .._model._models import OrganotropismModel

if TYPE_CHECKING:  # imported where they are built: numba costs ~1.3 s to import
    from ._leafshap import LeafShap
    from ._treeshap import TreeShap

__all__ = ["DIRECT_SHAP_ROWS", "FEW_ROWS", "ShapEngine"]

FEW_ROWS = 8  # up to this many rows, an engine not yet compiled asks LightGBM (see above)

DIRECT_SHAP_ROWS = 768  # above this, TreeShap's per-pattern evaluation is faster (bench_engines)
_LEAF_CHUNK = 256  # rows per LeafShap call: bounds the (rows, organs, markers) block

Contributions = tuple[np.ndarray, np.ndarray]  # (rows x features or groups, baseline per row)


class ShapEngine:
    """Exact TreeSHAP and compiled prediction for one fitted `OrganotropismModel`."""

    def __init__(self, model: OrganotropismModel) -> None:
        self.model = model
        self._forget()

    def _forget(self) -> None:
        """Drop what was built from the model's boosters (a refit replaces them)."""
        self._fits = getattr(self.model, "fits_", None)
        self._leaf: tuple[LeafShap, dict[str, int]] | None = None
        self._compiled = False  # whether the all-organ LeafShap was built (or found unusable)
        self._per_organ: dict[str, TreeShap] = {}

    def _current(self) -> None:
        if self.model.fits_ is not self._fits:
            self._forget()

    # ------------------------------------------------------------------ prediction

    def compile(self) -> bool:
        """Compile every booster into one `LeafShap`; False when the trees are too deep to
        compile (LightGBM then predicts and explains)."""
        return self._leaf_shap() is not None

    def decision_function(self, x: pd.DataFrame | ModelInputs) -> np.ndarray:
        """The model's calibrated log-odds, (n, organs): from the compiled trees once they
        are compiled, else from LightGBM."""
        model = self.model
        inputs = model.inputs(x)
        self._current()
        if not self._compiled or self._leaf is None:
            return model.decision_function(inputs)
        engine, position = self._leaf
        raw_all = engine.predict_raw(inputs.data)
        return model.calibrated(inputs, lambda organ, _: raw_all[:, position[organ]])

    # ------------------------------------------------------------------ SHAP

    def contributions(self, x: pd.DataFrame | ModelInputs, organ: str,
                      groups: np.ndarray | None = None,
                      n_groups: int | None = None) -> Contributions:
        """Exact TreeSHAP contributions of one organ on the calibrated log-odds scale.

        Returns (contributions (n, features), baseline (n,)): the baseline is the calibrated
        prior log-odds plus the trees' expected value, so that
        baseline + contributions.sum(1) == decision_function(x)[:, organ].
        With `groups` (feature index -> column) the contributions come summed into
        `n_groups` columns instead.
        """
        model = self.model
        inputs = model.inputs(x)
        fit = model.fits_[organ]
        n = len(inputs.data)
        width = len(model.feature_names_) if groups is None else int(n_groups or 0)
        tree_groups = self._tree_groups(groups)
        tree_width = None if tree_groups is None else width
        if fit.booster is None:
            return self._calibrated(inputs, organ, np.zeros((n, width + 1)))
        if n <= FEW_ROWS and not self._compiled:
            contrib = _grouped(fit.booster.predict(inputs.data, pred_contrib=True), tree_groups,
                               width)
        elif n > DIRECT_SHAP_ROWS:
            contrib = self._tree_shap(organ).contributions(inputs.data, tree_groups, tree_width,
                                                           columns=inputs.columns())
        elif self._leaf_shap() is not None:
            return self.contributions_all(inputs, [organ], groups, n_groups)[organ]
        else:  # paths too deep to compile: LightGBM's own pred_contrib
            contrib = _grouped(fit.booster.predict(inputs.data, pred_contrib=True), tree_groups,
                               width)
        return self._calibrated(inputs, organ, contrib)

    def contributions_all(self, x: pd.DataFrame | ModelInputs,
                          organs: Sequence[str] | None = None,
                          groups: np.ndarray | None = None, n_groups: int | None = None,
                          ) -> dict[str, Contributions]:
        """`contributions` of several organs, {organ: (contributions, baseline)}; for up
        to DIRECT_SHAP_ROWS rows all organs come from one compiled pass (`LeafShap`)."""
        model = self.model
        inputs = model.inputs(x)
        organs = list(model.organs_ if organs is None else organs)
        n = len(inputs.data)
        self._current()
        leaf = None if n <= FEW_ROWS and not self._compiled else self._leaf_shap()
        if leaf is None or n > DIRECT_SHAP_ROWS:
            return {o: self.contributions(inputs, o, groups, n_groups) for o in organs}
        engine, position = leaf
        width = len(model.feature_names_) if groups is None else int(n_groups or 0)
        tree_groups = self._tree_groups(groups)
        selected = [position[o] for o in organs if o in position]
        blocks = [engine.explain(inputs.data[i:i + _LEAF_CHUNK], tree_groups,
                                 width if tree_groups is not None else None, selected)[1]
                  for i in range(0, max(n, 1), _LEAF_CHUNK)]
        contrib = (np.concatenate(blocks) if blocks
                   else np.zeros((0, engine.n_boosters, width + 1)))
        return {o: self._calibrated(inputs, o, contrib[:n, position[o]] if o in position
                                    else np.zeros((n, width + 1)))
                for o in organs}

    def _tree_groups(self, groups: np.ndarray | None) -> np.ndarray | None:
        """`groups` (feature -> column) over the columns the trees read: a type-interaction
        column goes where its alteration flag goes (None stays None without interactions)."""
        feature_of = self.model.tree_feature_of()
        if len(feature_of) == len(self.model.feature_names_):
            return groups
        return feature_of if groups is None else np.asarray(groups)[feature_of]

    def _calibrated(self, inputs: ModelInputs, organ: str,
                    contrib: np.ndarray) -> Contributions:
        """Raw-score TreeSHAP (n, columns + bias) on the calibrated log-odds scale: the
        columns times the Platt slope; the bias with the prior's log-odds as the baseline."""
        model = self.model
        slope, intercept = model.fits_[organ].calibration
        init = inputs.prior_logit[:, model.organs_.index(organ)]
        return slope * contrib[:, :-1], slope * (init + contrib[:, -1]) + intercept

    # ------------------------------------------------------------------ built on demand

    def _leaf_shap(self) -> tuple[LeafShap, dict[str, int]] | None:
        """One LeafShap over every trained booster (None when the trees are too deep)."""
        self._current()
        if not self._compiled:
            from ._leafshap import LeafShap

            model = self.model
            organs = [o for o in model.organs_ if model.fits_[o].booster is not None]
            boosters = [model.fits_[o].booster for o in organs]
            engine = LeafShap.from_arrays(cached_arrays(  # 1.2 s to build, ms to read
                "leafshap", [b.model_to_string().encode() for b in boosters],
                lambda: LeafShap(boosters).to_arrays()))
            self._leaf = ((engine, {o: i for i, o in enumerate(organs)})
                          if engine.supported else None)
            self._compiled = True
        return self._leaf

    def _tree_shap(self, organ: str) -> TreeShap:
        self._current()
        if organ not in self._per_organ:
            from ._treeshap import TreeShap

            self._per_organ[organ] = TreeShap(self.model.fits_[organ].booster)
        return self._per_organ[organ]


def _grouped(contrib: np.ndarray, groups: np.ndarray | None, width: int) -> np.ndarray:
    """Feature contributions (n, features + 1) summed into `width` groups (+ the bias)."""
    if groups is None:
        return contrib
    grouped = np.empty((len(contrib), width + 1))
    for i in range(len(contrib)):
        grouped[i, :-1] = np.bincount(groups, weights=contrib[i, :-1], minlength=width)
    grouped[:, -1] = contrib[:, -1]
    return grouped
