"""Mechanism replication: for every entry of the knowledge base, within the cancer types,
subtypes and conditions it applies to, three estimates side by side, each with a 95% interval:

- cohort: does this cohort show the documented association? Carriers against non-carriers,
  stratified by cancer type x subtype: Mantel-Haenszel odds ratio (Robins-Breslow-Greenland
  interval), Mantel-Haenszel rate difference (Greenland-Robins interval), the Cochran-Mantel-
  Haenszel test and a Benjamini-Hochberg q-value across entries;
- model, marginal: the same rate difference on the model's predicted probabilities: does the
  model reproduce the association at all?
- model, attribution: the marker's own SHAP, carriers minus non-carriers (log-odds), with the
  same stratum weights: what the model credits to the marker itself. When it does not, and the
  marginal contrast does reproduce the association, what carries it instead: other markers,
  or the cancer-type/subtype prior (the SHAP baseline).

The model-side intervals of a model on its own training cohort are the grouped jackknife over
the CV folds' refits, so that they include the model's fitting noise; on another cohort, with
the model fixed, a bootstrap over patients. Verdicts are read off the intervals, never off a
threshold on the point estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._explain._explainer import Explainer
from .._knowledge._mechanisms import Mechanism
from .._model._inputs import ModelInputs
from .._model._models import OrganotropismModel
from ._fidelity import Contrast
from ._replication_results import REFERENCE_OR, Replication, ReplicationEntry
from ._stratified import (
    StrataTables,
    bootstrap_interval,
    carriers_needed,
    contrast,
    jackknife_interval,
    mantel_haenszel,
    power_two_rates,
)

__all__ = ["Refit", "replicate"]

_THREADS = 2  # models explained at once: TreeSHAP spends its time in LightGBM and numpy
PRIOR = "cancer-type/subtype prior"  # what carries an association through the SHAP baseline


@dataclass(frozen=True, slots=True)
class Refit:
    """A model fitted without one group of patients (a CV fold's model), and the rows of `x`
    it was fitted on: one replicate of the grouped jackknife."""

    model: OrganotropismModel
    rows: np.ndarray  # bool over the rows of x


def replicate(explainer: Explainer, x: pd.DataFrame, y: pd.DataFrame,
              refits: Sequence[Refit] = (), cohort_name: str = "the cohort",
              n_bootstrap: int = 1000, min_carriers: int = 20, seed: int = 0,
              with_model: bool = True, predictions: np.ndarray | None = None) -> Replication:
    """Check every knowledge-base entry on `x` (features as built, NaN = not profiled) with
    labels `y` (0/1 per organ).

    The model side is the explainer's model on the same rows: its predicted probabilities
    and marker SHAP. With `refits` (the CV folds' models) their intervals are the grouped
    jackknife over the refits: they carry the model's own fitting noise, which a bootstrap
    over patients with the model held fixed does not (on a planted null that bootstrap calls
    a noise attribution significant). Without refits (a fixed model on a new cohort) they are
    a bootstrap over patients. `with_model=False`: cohort estimates only.

    `predictions` (n, organs of `y`): probabilities the model did not fit (the experiment's
    out-of-fold ones); the model-marginal contrast is read off them (bootstrap interval,
    predictions fixed) instead of the model's in-sample predictions, and every tested entry
    keeps its arrays for the fidelity report (`Replication.contrasts`).
    """
    check = _Check(explainer, x, y, list(refits), n_bootstrap, min_carriers, seed, predictions)
    drafts = [check.cohort_side(m) for m in explainer.knowledge.mechanisms]
    tested = [d for d in drafts if isinstance(d, _Tested)]
    if with_model:
        check.compute_model_values(tested)
    entries = [d if isinstance(d, ReplicationEntry) else check.finish(d, with_model)
               for d in drafts]
    with_cohort = [e for e in entries if e.cohort is not None]
    if with_cohort:
        q_values = stats.false_discovery_control([e.cohort["p"] for e in with_cohort])
        for e, q in zip(with_cohort, q_values, strict=True):
            e.cohort["q"] = float(q)
    method = (f"grouped jackknife over {len(refits)} refits (CV folds)" if refits
              else f"bootstrap over patients ({n_bootstrap}), model fixed")
    if predictions is not None:
        method += ("; the marginal contrast on out-of-fold predictions, bootstrap over "
                   f"patients ({n_bootstrap})")
    contrasts = () if predictions is None else tuple(
        Contrast(t.mech.id, t.mech.organ, t.mech.direction, t.rows, t.carrier, t.strata,
                 y[t.mech.organ].to_numpy(dtype=float),
                 predictions[:, list(y.columns).index(t.mech.organ)],
                 t.fields["verdict"]["cohort"] == "replicated")
        for t in tested)
    return Replication(tuple(entries), cohort_name, method if with_model else "none",
                       n_bootstrap, min_carriers, contrasts)


@dataclass
class _Tested:
    """An entry with enough carriers: its cohort estimate, awaiting the model's."""

    mech: Mechanism
    fields: dict[str, object]  # ReplicationEntry fields known so far
    rows: np.ndarray  # bool over x: applicable, labelled and profiled
    carrier: np.ndarray  # bool over x
    strata: np.ndarray  # the stratum of each row of x
    ranked: list[int] = field(default_factory=list)  # value columns of the other markers


@dataclass
class _OrganValues:
    """Per row of x: predicted probability, then the needed markers' SHAP (columns in
    `column`), for the model and each refit (NaN outside the rows each one covers)."""

    fitted: np.ndarray
    per_refit: list[np.ndarray]
    column: dict[int, int]  # value column (0: probability, 1 + marker index) -> here


class _Check:
    """One replication run over a feature frame: the cohort side entry by entry, the model's
    SHAP organ by organ (each model's inputs converted once), then the verdicts."""

    def __init__(self, explainer: Explainer, x: pd.DataFrame, y: pd.DataFrame,
                 refits: list[Refit], n_bootstrap: int, min_carriers: int, seed: int,
                 predictions: np.ndarray | None = None) -> None:
        self.explainer, self.x, self.y, self.refits = explainer, x, y, refits
        self.n_bootstrap, self.min_carriers, self.seed = n_bootstrap, min_carriers, seed
        types = explainer.category_names(x, "cancer_type")
        subtypes = explainer.category_names(x, "subtype")
        self.types_and_subtypes = list(zip(types, subtypes, strict=True))
        self.types = types
        self.strata = np.array([f"{t}|{s}" for t, s in self.types_and_subtypes], dtype=object)
        self.type_strata = np.asarray(types, dtype=object)
        self.marker_index = {m: i for i, m in enumerate(explainer.markers)}
        self.values: dict[str, _OrganValues] = {}
        self.predictions = predictions  # probabilities the model did not fit, if given

    def cohort_side(self, mech: Mechanism) -> ReplicationEntry | _Tested:
        """The cohort's estimate, or why the entry cannot be tested here."""
        base = {"id": mech.id, "marker": mech.marker, "organ": mech.organ,
                "direction": "up" if mech.direction > 0 else "down", "evidence": mech.evidence}
        empty = {"n_carriers": 0, "n_non_carriers": 0, "strata": "", "cancer_types": (),
                 "cohort": None,
                 "model_marginal": None, "attribution": None, "carried_by": (),
                 "power": float("nan"), "carriers_needed": None}
        if mech.organ not in self.y.columns:
            return ReplicationEntry(**base, **empty, verdict=_untestable(),
                                    reason="no label for this organ in the cohort")
        carriers = self.explainer.carriers(self.x, mech)
        if carriers is None:
            return ReplicationEntry(**base, **empty, verdict=_untestable(), reason=(
                f"no {mech.alteration} feature for {mech.marker} among the model's features "
                "(off the panels, or too few carriers to build one)"))
        label = self.y[mech.organ].to_numpy(dtype=float)
        rows = (self.explainer.condition_met(self.x, mech) & ~np.isnan(carriers)
                & ~np.isnan(label)
                & np.array([mech.applies_to(t, s) for t, s in self.types_and_subtypes]))
        carrier = carriers == 1
        strata, how = self.strata, "cancer type x subtype"
        tables = StrataTables.count(strata[rows], carrier[rows], label[rows] == 1)
        n1, n0 = tables.sizes()
        if min(n1, n0) < self.min_carriers:  # a subtype that defines the marker (HR, HER2)
            by_type = StrataTables.count(self.type_strata[rows], carrier[rows],
                                         label[rows] == 1)
            if min(by_type.sizes()) > min(n1, n0):
                strata, how, tables = self.type_strata, "cancer type (subtypes define it)", by_type
                n1, n0 = tables.sizes()
        p0 = float(tables.c.sum() / n0) if n0 else float("nan")
        ratio = REFERENCE_OR if mech.direction > 0 else 1 / REFERENCE_OR
        counts = {"n_carriers": n1, "n_non_carriers": n0, "strata": how,
                  "cancer_types": tuple(sorted({str(t) for t in self.types[rows & carrier]})),
                  "power": power_two_rates(p0, n1, n0, ratio),
                  "carriers_needed": carriers_needed(p0, n0, ratio)}
        if n1 < self.min_carriers or n0 < self.min_carriers:
            needed = counts["carriers_needed"]
            return ReplicationEntry(
                **base, **counts, cohort=None, model_marginal=None, attribution=None,
                carried_by=(), verdict=_untestable(), reason=(
                    f"{n1} carriers and {n0} non-carriers in strata with both (at least "
                    f"{self.min_carriers} each needed); 80% power at OR {ratio:g} needs "
                    + (f"{needed:,} carriers" if needed else "more non-carriers too")))
        mh = mantel_haenszel(tables)
        cohort = {"or": mh.odds_ratio, "or_ci": list(mh.odds_ratio_ci),
                  "rate_diff": mh.rate_diff, "rate_diff_ci": list(mh.rate_diff_ci),
                  "p": mh.p_value, "q": None}
        verdict = {"cohort": _read(mh.odds_ratio_ci, 1.0, mech.direction,
                                   ("replicated", "not replicated", "opposite"))}
        return _Tested(mech, {**base, **counts, "cohort": cohort, "verdict": verdict,
                              "reason": ""}, rows, carrier, strata)

    def _modelled(self, organ: str) -> bool:
        return all(organ in m.fits_ and m.fits_[organ].booster is not None
                   for m in [self.explainer.model, *(r.model for r in self.refits)])

    def compute_model_values(self, tested: list[_Tested]) -> None:
        """SHAP of the model, then of each refit, over the rows the tested entries need;
        keeping only the columns they read (the marker itself and its 3 strongest
        stand-ins, chosen on the model)."""
        organs = sorted({t.mech.organ for t in tested if self._modelled(t.mech.organ)})
        rows_of = {organ: np.logical_or.reduce([t.rows for t in tested if t.mech.organ == organ])
                   for organ in organs}
        full = self._model_values(self.explainer, organs, rows_of)
        n_markers = len(self.marker_index)
        for t in tested:
            if t.mech.organ in full:
                point = contrast(full[t.mech.organ], t.rows, t.carrier, t.strata)
                own = 1 + self.marker_index[t.mech.marker]
                # constant within a stratum: what their SHAP varies by is someone else's
                fixed = {1 + self.marker_index[m] for m in self._stratified_by(t)
                         if m in self.marker_index}
                others = np.array([j for j in range(1, n_markers + 2)
                                   if j != own and j not in fixed])
                best = others[np.argsort(-t.mech.direction * point[others])][:3]
                t.ranked = [int(j) for j in best if t.mech.direction * point[j] > 0]
        for organ in organs:
            needed = sorted({0} | {1 + self.marker_index[t.mech.marker] for t in tested
                                   if t.mech.organ == organ}
                            | {j for t in tested if t.mech.organ == organ for j in t.ranked})
            self.values[organ] = _OrganValues(full.pop(organ)[:, needed], [],
                                              {c: k for k, c in enumerate(needed)})
        for refit in self.refits:
            explainer = Explainer(self.explainer.builder, refit.model, self.explainer.knowledge)
            values = self._model_values(explainer, organs, {
                organ: rows_of[organ] & refit.rows for organ in organs})
            for organ in organs:
                self.values[organ].per_refit.append(values[organ][:, list(self.values[organ].column)])

    def _model_values(self, explainer: Explainer, organs: list[str],
                      rows_of: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """`_values_of` every organ for one model, two organs at a time (LightGBM and
        NumPy release the GIL; the model's inputs are converted once and shared)."""
        inputs = explainer.model.inputs(self.x)

        def one(organ: str) -> np.ndarray:
            return self._values_of(explainer, inputs, organ, rows_of[organ])

        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            return dict(zip(organs, pool.map(one, organs), strict=True))

    def _values_of(self, explainer: Explainer, inputs: ModelInputs, organ: str,
                   rows: np.ndarray) -> np.ndarray:
        """(n, 2 + markers): the predicted probability, marker SHAP and the SHAP baseline
        (the cancer-type/subtype prior's log-odds plus the trees' expected value) on `rows`,
        NaN elsewhere."""
        out = np.full((len(self.x), 2 + len(self.marker_index)), np.nan)
        if rows.any():
            contrib, baseline = explainer.marker_contributions(inputs.take(rows), organ)
            out[rows, 0] = 1 / (1 + np.exp(-(baseline + contrib.sum(axis=1))))
            out[rows, 1:-1] = contrib
            out[rows, -1] = baseline
        return out

    def finish(self, t: _Tested, with_model: bool) -> ReplicationEntry:
        """The entry with its model side and all three verdicts."""
        mech = t.mech
        if not with_model or mech.organ not in self.values:
            return self._unmodelled(t)
        values = self.values[mech.organ]
        own = 1 + self.marker_index[mech.marker]
        columns = [values.column[c] for c in [0, own, *t.ranked]]
        point = contrast(values.fitted[:, columns], t.rows, t.carrier, t.strata)
        if self.refits:
            low, high = jackknife_interval(point, [
                contrast(v[:, columns], t.rows & r.rows, t.carrier, t.strata)
                for v, r in zip(values.per_refit, self.refits, strict=True)])
        else:
            low, high = bootstrap_interval(values.fitted[:, columns], t.rows, t.carrier,
                                           t.strata, self.n_bootstrap, self.seed)
        if self.predictions is not None:  # the marginal contrast out of fold
            held_out = self.predictions[:, [list(self.y.columns).index(mech.organ)]]
            point[0] = contrast(held_out, t.rows, t.carrier, t.strata)[0]
            lo, hi = bootstrap_interval(held_out, t.rows, t.carrier, t.strata,
                                        self.n_bootstrap, self.seed)
            low[0], high[0] = lo[0], hi[0]
        model_verdict = _read((low[0], high[0]), 0.0, mech.direction,
                              ("reproduces", "does not reproduce", "opposite"))
        own_verdict = _read((low[1], high[1]), 0.0, mech.direction,
                            ("attributed to the marker", "not attributed", "opposite"))
        carried = tuple({"marker": self._name(j), "diff": float(point[2 + i]),
                         "ci": [float(low[2 + i]), float(high[2 + i])]}
                        for i, j in enumerate(t.ranked))
        if own_verdict != "attributed to the marker" and model_verdict == "reproduces":
            sure = [c["marker"] for c in carried
                    if _read(tuple(c["ci"]), 0.0, mech.direction, ("yes", "", "")) == "yes"]
            if sure:
                own_verdict = f"carried by {', '.join(sure)}"
        return ReplicationEntry(
            **{**t.fields, "verdict": {**t.fields["verdict"], "model": model_verdict,
                                       "attribution": own_verdict}},
            model_marginal={"diff": float(point[0]), "ci": [float(low[0]), float(high[0])]},
            attribution={"diff": float(point[1]), "ci": [float(low[1]), float(high[1])]},
            carried_by=carried)

    def _stratified_by(self, t: _Tested) -> tuple[str, ...]:
        return ("cancer_type", "subtype") if t.strata is self.strata else ("cancer_type",)

    def _name(self, column: int) -> str:
        markers = self.explainer.markers
        return markers[column - 1] if column <= len(markers) else PRIOR

    def _unmodelled(self, t: _Tested) -> ReplicationEntry:
        return ReplicationEntry(
            **{**t.fields, "verdict": {**t.fields["verdict"], "model": "not modelled",
                                       "attribution": "not modelled"}},
            model_marginal=None, attribution=None, carried_by=())


def _read(ci: tuple[float, float], null: float, direction: int,
          words: tuple[str, str, str]) -> str:
    """The documented way / no evidence either way / the other way, from an interval."""
    low, high = ci
    if low > null or high < null:
        return words[0] if (low > null) == (direction > 0) else words[2]
    return words[1]


def _untestable() -> dict[str, str]:
    return {"cohort": "untestable", "model": "untestable", "attribution": "untestable"}
