"""Explanations: exact TreeSHAP summed to markers and tied to the mechanism knowledge base.

A feature-level SHAP value (`mut_EGFR`, `amp_EGFR`, `hotspot_EGFR_L858R`) is summed into its
marker (EGFR); clinical context (cancer type, subtype, primary site, sex, age) is summed apart
from the tumor-intrinsic markers. For every organ the decomposition is exact:

    expected log-odds + context + sum(markers) == the model's calibrated log-odds.

Pure computation on feature frames: no file or network IO here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from cachetools import LRUCache

from .._features._builder import FeatureBuilder
from .._knowledge._feature_names import (
    ALTERATIONS,
    CATEGORICAL_FEATURES,
    feature_groups,
    is_context,
    marker_of,
)
from .._knowledge._mechanisms import KnowledgeBase, Mechanism, load_mechanisms
from .._model._inputs import ModelInputs
from .._model._models import OrganotropismModel
from .._model._prior import sigmoid
from ._drivers import rank_drivers
from ._engine import ShapEngine
from ._explanations import Driver, MechanismMatch, OrganExplanation, PatientExplanation

if TYPE_CHECKING:
    import shap

    from .._model._intervals import ProbabilityIntervals
    from .._model._loading import LoadedModel

__all__ = ["Explainer", "MarkerLayout", "carrier_status", "condition_holds"]


def carrier_status(values: np.ndarray) -> np.ndarray:
    """Per row of a marker's alteration flags (rows, flags): 1 when any flag is 1 (a
    carrier), 0 when none is but one is profiled, NaN when none is profiled."""
    carrier = (values == 1).any(axis=1)
    profiled = (~np.isnan(values)).any(axis=1)
    return np.where(carrier, 1.0, np.where(profiled, 0.0, np.nan))


def condition_holds(values: np.ndarray | None, mechanism: Mechanism, n: int) -> np.ndarray:
    """Whether each of `n` rows meets `mechanism`'s condition, given the condition
    feature's `values` (None: the model has no such feature, so no row does)."""
    if mechanism.condition is None:
        return np.ones(n, dtype=bool)
    if values is None:
        return np.zeros(n, dtype=bool)
    return values == 1

APPLICABLE_CACHE_SIZE = 4096  # (marker, organ, cancer type, subtype) lookups kept
_TOP_BLOCK_ROWS = 512  # rows per stacked driver selection: bounds the (organs, rows, markers) block


@dataclass
class MarkerLayout:
    """How a model's features sum into markers (`Explainer.layout_`): the markers in order,
    each feature's marker, which markers are clinical context, and each marker's features."""

    markers: list[str]
    groups: np.ndarray  # feature index -> marker index
    context: np.ndarray  # bool per marker
    features_of: dict[str, list[str]] = field(default_factory=dict)


class Explainer:
    """Marker-level SHAP explanations of a fitted feature builder + organotropism model.

    Parameters (the builder first, as `save_bundle` and `load_bundle` have them):
        builder: the fitted `FeatureBuilder` whose features the model reads.
        model: a fitted `OrganotropismModel`.
        knowledge: the mechanism knowledge base (default: the shipped mechanisms.toml).
        min_contribution: drivers whose |contribution| (log-odds) is below this are not listed.
        shap_engine: the model's `ShapEngine` (default: a new one), to share its compiled
            trees with whoever else explains or scores with this model.
        replication: {mechanism id: one line on whether the training cohort replicates it},
            shown beside each cited mechanism (`from_loaded` takes it from the model's
            metadata, written by the experiment).

    Attributes:
        layout_: the `MarkerLayout` of the model's features.
    """

    def __init__(self, builder: FeatureBuilder, model: OrganotropismModel,
                 knowledge: KnowledgeBase | None = None,
                 min_contribution: float = 1e-4, shap_engine: ShapEngine | None = None,
                 replication: Mapping[str, str] | None = None) -> None:
        if isinstance(builder, OrganotropismModel) or isinstance(model, FeatureBuilder):
            raise TypeError("Explainer(builder, model): the fitted FeatureBuilder comes first, "
                            "then the OrganotropismModel (as in save_bundle and load_bundle)")
        self.model = model
        self.replication = dict(replication or {})
        self.builder = builder
        self.shap_engine = shap_engine if shap_engine is not None else ShapEngine(model)
        self.knowledge = knowledge if knowledge is not None else load_mechanisms()
        self.min_contribution = min_contribution
        names = list(model.feature_names_)
        grouped = feature_groups(names)
        markers = list(grouped)
        index = {m: i for i, m in enumerate(markers)}
        self.layout_ = MarkerLayout(
            markers=markers,
            groups=np.array([index[marker_of(f)] for f in names], dtype=np.int64),
            context=np.array([any(is_context(f) for f in grouped[m]) for m in markers]),
            features_of=grouped)
        self.feature_index = {c: i for i, c in enumerate(names)}  # model column of a feature
        self._shown = {m: ([f for f in fs if f not in CATEGORICAL_FEATURES],
                           np.array([self.feature_index[f] for f in fs
                                     if f not in CATEGORICAL_FEATURES], dtype=np.int64))
                       for m, fs in grouped.items()}
        self._levels = {name: np.asarray(list(levels) + [None], dtype=object)
                        for name, levels in builder.categories_.items()}
        # keyed by the request's cancer type and subtype (free text): bounded
        self._applicable_cache: LRUCache[tuple, list[Mechanism]] = LRUCache(APPLICABLE_CACHE_SIZE)
        self._by_key: dict[tuple[str, str], list[Mechanism]] = {}
        self._positions: dict[tuple[str, str], np.ndarray] = {}
        for mech in self.knowledge.mechanisms:
            self._by_key.setdefault((mech.marker, mech.organ), []).append(mech)

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, shap_engine: ShapEngine | None = None
                    ) -> Explainer:
        """The explainer of a loaded model, with what its training run found about each
        mechanism (the experiment stores it in the model's metadata)."""
        replication = loaded.metadata.get("mechanism_replication")
        return cls(loaded.builder, loaded.model, shap_engine=shap_engine,
                   replication=replication if isinstance(replication, dict) else None)

    # ------------------------------------------------------------------ numbers

    @property
    def markers(self) -> list[str]:
        return self.layout_.markers

    def marker_contributions(self, x: pd.DataFrame | ModelInputs,
                             organ: str) -> tuple[np.ndarray, np.ndarray]:
        """(n, markers) exact SHAP in log-odds summed by marker, and the (n,) baseline."""
        return self.shap_engine.contributions(x, organ, groups=self.layout_.groups,
                                        n_groups=len(self.layout_.markers))

    def shap_values(self, x: pd.DataFrame, organ: str | None = None,
                    level: Literal["marker", "feature"] = "marker") -> shap.Explanation:
        """The same numbers as a `shap.Explanation` (see `_shap.shap_explanation`): one
        organ, or all organs with an output axis; markers or model features."""
        from ._shap import shap_explanation

        return shap_explanation(self, x, organ, level)

    def carriers(self, x: pd.DataFrame, mechanism: Mechanism) -> np.ndarray | None:
        """1 carrier / 0 profiled non-carrier / NaN unknown, or None when the model has no
        feature for this marker and alteration."""
        names = self._alteration_features(mechanism)
        if not names:
            return None
        return carrier_status(x[names].to_numpy(np.float32))

    def condition_met(self, x: pd.DataFrame, mechanism: Mechanism) -> np.ndarray:
        """Whether each row meets the mechanism's condition (a feature that must be 1)."""
        column = mechanism.condition
        return condition_holds(x[column].to_numpy() if column in x.columns else None,
                               mechanism, len(x))

    def _alteration_features(self, mechanism: Mechanism) -> list[str]:
        """The features of the mechanism's marker that evidence its alteration."""
        prefixes = ALTERATIONS[mechanism.alteration]
        return [f for f in self.layout_.features_of.get(mechanism.marker, [])
                if f.startswith(prefixes)]

    def _alteration_positions(self, mechanism: Mechanism) -> np.ndarray:
        """Their model columns, for a row in model column order (cached)."""
        key = (mechanism.marker, mechanism.alteration)
        if key not in self._positions:
            self._positions[key] = np.asarray(
                [self.feature_index[f] for f in self._alteration_features(mechanism)],
                dtype=np.int64)
        return self._positions[key]

    def _condition_position(self, mechanism: Mechanism) -> int | None:
        return self.feature_index.get(mechanism.condition) if mechanism.condition else None

    def category_names(self, x: pd.DataFrame, name: str) -> np.ndarray:
        """Decoded names of a categorical feature column (None where unknown)."""
        levels = self._levels.get(name, np.asarray([None], dtype=object))
        if name not in x.columns:
            return np.full(len(x), None, dtype=object)
        codes = x[name].to_numpy(np.float64)
        return levels[np.where(np.isnan(codes), len(levels) - 1,
                               np.nan_to_num(codes)).astype(int)]

    # ------------------------------------------------------------------ explanations

    def explain(self, x: pd.DataFrame, sample_ids: Sequence[str] | None = None,
                top_k: int = 5, organs: Sequence[str] | None = None) -> list[PatientExplanation]:
        """One `PatientExplanation` per row of the feature frame `x`."""
        organs = list(organs or self.model.organs_)
        ids = [str(s) for s in (sample_ids if sample_ids is not None else x.index)]
        cancer_types = self.category_names(x, "cancer_type")
        subtypes = self.category_names(x, "subtype")
        inputs = self.model.inputs(x)
        prior = sigmoid(inputs.prior_logit)
        organ_index = {o: j for j, o in enumerate(self.model.organs_)}
        per_organ: dict[str, list[OrganExplanation]] = {}
        context_idx = np.flatnonzero(self.layout_.context)
        intrinsic_idx = np.flatnonzero(~self.layout_.context)
        values = inputs.as_built  # NaN shows as "not profiled"
        shap = self._all_organs(inputs, organs)
        markers = self.layout_.markers
        context_names = [markers[k] for k in context_idx]
        selected = self._chosen(shap, organs, intrinsic_idx, top_k)
        bounds = self._intervals(inputs, shap, organs)
        for organ in organs:
            contrib, baseline = shap[organ]
            context_totals = contrib[:, context_idx].sum(axis=1).tolist()
            log_odds_all = (baseline + contrib.sum(axis=1)).tolist()
            context_values = contrib[:, context_idx].tolist()
            baselines = baseline.tolist()
            rates = prior[:, organ_index[organ]].tolist()
            up_rows, down_rows = selected[organ]
            rows = []
            for i in range(len(x)):
                drivers = []
                for chosen in (up_rows[i], down_rows[i]):
                    drivers.append(tuple(
                        self._driver(markers[intrinsic_idx[j]], organ, value, values[i],
                                     cancer_types[i], subtypes[i]) for j, value in chosen))
                log_odds = log_odds_all[i]
                rows.append(OrganExplanation(
                    organ=organ, probability=float(sigmoid(log_odds)),
                    baseline_rate=rates[i], log_odds=log_odds,
                    expected_log_odds=baselines[i], context_contribution=context_totals[i],
                    context=dict(zip(context_names, context_values[i], strict=True)),
                    drivers_up=drivers[0], drivers_down=drivers[1],
                    interval=None if bounds is None else bounds[organ][i]))
            per_organ[organ] = rows
        return [PatientExplanation(ids[i], cancer_types[i], subtypes[i],
                            tuple(per_organ[o][i] for o in organs), self.knowledge.version)
                for i in range(len(x))]

    @property
    def intervals(self) -> ProbabilityIntervals | None:
        """The model's Venn-ABERS interval predictors (one per organ and large cancer type,
        fitted on the experiment's out-of-fold probabilities), which give every explained
        probability its `interval`; None for a model without them."""
        return getattr(self.model, "intervals_", None)

    def _intervals(self, inputs: ModelInputs, shap: dict[str, tuple[np.ndarray, np.ndarray]],
                   organs: list[str]) -> dict[str, list[tuple[float, float] | None]] | None:
        """Each organ's (low, high) per row, from the probabilities the SHAP sums give."""
        if self.intervals is None:
            return None
        probabilities = pd.DataFrame(
            {o: sigmoid(shap[o][1] + shap[o][0].sum(axis=1)) for o in organs},
            index=inputs.index)
        low, high = self.model.predict_interval(inputs, probabilities)
        return {o: [None if np.isnan(lo) else (lo, hi)  # an organ not trained: none
                    for lo, hi in zip(low[o].tolist(), high[o].tolist(), strict=True)]
                for o in organs}

    def _chosen(self, shap: dict[str, tuple[np.ndarray, np.ndarray]], organs: list[str],
                intrinsic_idx: np.ndarray, top_k: int
                ) -> dict[str, tuple[list[list[tuple[int, float]]],
                                     list[list[tuple[int, float]]]]]:
        """`_top` of every organ, organs stacked into one call per block of rows: one
        patient pays the numpy call overhead once, not once per organ."""
        n = len(next(iter(shap.values()))[0]) if shap else 0
        out: dict[str, tuple[list, list]] = {o: ([], []) for o in organs}
        for lo in range(0, n, _TOP_BLOCK_ROWS):
            hi = min(lo + _TOP_BLOCK_ROWS, n)
            block = np.stack([shap[o][0][lo:hi, intrinsic_idx] for o in organs])
            up, down = self._top(block.reshape(-1, len(intrinsic_idx)), top_k)
            for k, organ in enumerate(organs):
                out[organ][0].extend(up[k * (hi - lo):(k + 1) * (hi - lo)])
                out[organ][1].extend(down[k * (hi - lo):(k + 1) * (hi - lo)])
        return out

    def _top(self, intrinsic: np.ndarray, top_k: int
             ) -> tuple[list[list[tuple[int, float]]], list[list[tuple[int, float]]]]:
        """Per row, the `top_k` largest positive and most negative contributions at least
        `min_contribution` in size, as (column, value) (see `rank_drivers`)."""
        out = []
        for direction in ("up", "down"):
            columns, values = rank_drivers(intrinsic, top_k, direction, self.min_contribution)
            out.append([[(j, v) for j, v in zip(js, vs, strict=True) if j >= 0]
                        for js, vs in zip(columns.tolist(), values.tolist(), strict=True)])
        return out[0], out[1]

    def applicable(self, marker: str, organ: str, cancer_type: str | None,
                   subtype: str | None, row: np.ndarray | None = None) -> list[Mechanism]:
        """The entries for (marker, organ) that apply to this cancer type/subtype and, given
        the patient's feature `row` (model column order), whose condition holds."""
        key = (marker, organ, cancer_type, subtype)
        candidates = self._applicable_cache.get(key)
        if candidates is None:
            candidates = [m for m in self._by_key.get((marker, organ), [])
                          if m.applies_to(cancer_type, subtype)]
            self._applicable_cache[key] = candidates
        return [m for m in candidates if m.condition is None or (row is not None and bool(
            condition_holds(None if (at := self._condition_position(m)) is None
                            else row[at:at + 1], m, 1)[0]))]

    def mechanism_ids(self, marker: str, organ: str, cancer_type: str | None,
                      subtype: str | None, row: np.ndarray | None = None) -> list[str]:
        """Ids of `applicable(...)`."""
        return [m.id for m in self.applicable(marker, organ, cancer_type, subtype, row)]

    def _all_organs(self, inputs: ModelInputs,
                    organs: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Marker SHAP of every organ (one compiled pass for a few thousand rows)."""
        return self.shap_engine.contributions_all(inputs, organs, self.layout_.groups,
                                            len(self.layout_.markers))

    def _driver(self, marker: str, organ: str, value: float, row: np.ndarray,
                cancer_type: str | None, subtype: str | None) -> Driver:
        names, idx = self._shown[marker]
        shown = {f: (None if v != v else v) for f, v in zip(names, row[idx].tolist(),
                                                             strict=True)}
        if (marker, organ) not in self._by_key:  # most drivers: no documented mechanism
            return Driver(marker, value, shown)
        matches = []
        for mech in self.applicable(marker, organ, cancer_type, subtype, row):
            status = carrier_status(row[self._alteration_positions(mech)][None, :])[0]
            carrier = None if status != status else bool(status == 1)
            consistent = None
            if carrier is not None:
                expected = mech.direction if carrier else -mech.direction
                consistent = bool(np.sign(value) == expected)
            matches.append(MechanismMatch(
                mech.id, "up" if mech.direction > 0 else "down", mech.alteration, carrier,
                consistent, mech.evidence, mech.mechanism, mech.citation,
                self.replication.get(mech.id)))
        return Driver(marker, value, shown, tuple(matches))
