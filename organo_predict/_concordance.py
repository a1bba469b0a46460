"""Concordance of a model with the documented mechanisms: for each entry of the knowledge
base, do the model's attributions to the marker, carriers against non-carriers within the
cancer types it applies to, point the documented way?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._explain import Explainer
from ._recipes import Mechanism

__all__ = ["Concordance", "ConcordanceEntry", "concordance"]


@dataclass(frozen=True, slots=True)
class ConcordanceEntry:
    """One knowledge-base entry checked against the model's SHAP."""

    id: str
    marker: str
    organ: str
    direction: str
    evidence: str
    verdict: str  # "agree", "disagree", "neutral" or "untestable"
    reason: str
    cancer_types: tuple[str, ...] = ()
    n_carriers: int = 0
    n_non_carriers: int = 0
    shap_carriers: float = float("nan")
    shap_non_carriers: float = float("nan")
    difference: float = float("nan")

    def to_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["cancer_types"] = list(self.cancer_types)
        return d


@dataclass(frozen=True, slots=True)
class Concordance:
    """How the model's attributions line up with the documented mechanisms."""

    entries: tuple[ConcordanceEntry, ...]
    min_carriers: int
    min_effect: float

    def ids(self, verdict: str) -> list[str]:
        return [e.id for e in self.entries if e.verdict == verdict]

    @property
    def agreement(self) -> float:
        """Share of tested entries (agree + disagree + neutral) whose sign agrees."""
        tested = [e for e in self.entries if e.verdict != "untestable"]
        return (sum(e.verdict == "agree" for e in tested) / len(tested)) if tested else float(
            "nan")

    def to_dict(self) -> dict[str, object]:
        return {
            "tested": [e.id for e in self.entries if e.verdict != "untestable"],
            "agree": self.ids("agree"), "disagree": self.ids("disagree"),
            "neutral": self.ids("neutral"),
            "untestable": {e.id: e.reason for e in self.entries if e.verdict == "untestable"},
            "agreement": self.agreement, "min_carriers": self.min_carriers,
            "min_effect": self.min_effect,
            "entries": [e.to_dict() for e in self.entries],
        }


def concordance(explainer: Explainer, x: pd.DataFrame,
                shap: dict[str, np.ndarray] | None = None, min_carriers: int = 20,
                min_effect: float = 0.01) -> Concordance:
    """Check every knowledge-base entry the data can test.

    Within each cancer type an entry applies to (with >= `min_carriers` carriers and
    non-carriers), the mean marker SHAP of carriers minus non-carriers; these differences are
    averaged weighted by carriers, and the sign is compared with the documented direction.
    A difference below `min_effect` log-odds is "neutral": the model gives the marker no
    material weight there. `shap` may pass precomputed marker SHAP per organ (n, markers).
    """
    check = _Check(explainer, x, dict(shap or {}), min_carriers, min_effect)
    return Concordance(tuple(check.entry(m) for m in explainer.knowledge.mechanisms),
                       min_carriers, min_effect)


class _Check:
    """One concordance check over a feature frame: the entries one by one."""

    def __init__(self, explainer: Explainer, x: pd.DataFrame, shap: dict[str, np.ndarray],
                 min_carriers: int, min_effect: float) -> None:
        self.explainer, self.x, self.shap = explainer, x, shap
        self.min_carriers, self.min_effect = min_carriers, min_effect
        self.types = explainer.category_names(x, "cancer_type")
        self.subtypes = explainer.category_names(x, "subtype")
        self.marker_index = {m: i for i, m in enumerate(explainer.markers)}

    def entry(self, mech: Mechanism) -> ConcordanceEntry:
        base = {"id": mech.id, "marker": mech.marker, "organ": mech.organ,
                "direction": "up" if mech.direction > 0 else "down", "evidence": mech.evidence}
        carriers = self.explainer.carriers(self.x, mech)
        untestable = self._untestable(mech, carriers)
        if untestable:
            return ConcordanceEntry(**base, verdict="untestable", reason=untestable)
        applies = self.explainer.condition_met(self.x, mech) & np.array(
            [mech.applies_to(t, s) for t, s in zip(self.types, self.subtypes, strict=True)])
        if not applies.any():
            return ConcordanceEntry(
                **base, verdict="untestable",
                reason=f"no patient of {', '.join(mech.cancer_types)}"
                       + (f" ({', '.join(mech.subtypes)})" if mech.subtypes else ""))
        if mech.organ not in self.shap:
            self.shap[mech.organ] = self.explainer.marker_contributions(self.x, mech.organ)[0]
        values = self.shap[mech.organ][:, self.marker_index[mech.marker]]
        within = self._within_types(values, applies, carriers)
        if within is None or not within[0]:
            best = 0 if within is None else within[-1]
            return ConcordanceEntry(
                **base, verdict="untestable",
                reason=f"fewer than {self.min_carriers} carriers (or non-carriers) within any "
                       f"applicable cancer type (most carriers in one type: {best})")
        tested_types, diffs, weights, n_car, n_non, sum_car, sum_non, _ = within
        diff = float(np.average(diffs, weights=weights))
        verdict, reason = self._verdict(diff, mech.direction, base["direction"])
        return ConcordanceEntry(
            **base, verdict=verdict, reason=reason, cancer_types=tuple(tested_types),
            n_carriers=n_car, n_non_carriers=n_non, shap_carriers=sum_car / n_car,
            shap_non_carriers=sum_non / n_non, difference=diff)

    def _untestable(self, mech: Mechanism, carriers: np.ndarray | None) -> str | None:
        """Why the model cannot test `mech` at all, or None."""
        model = self.explainer.model
        if mech.organ not in model.organs_:
            return "organ not modelled"
        if model.fits_[mech.organ].booster is None:
            return "organ not trained (too few positives); the prior alone predicts it"
        if carriers is None or mech.marker not in self.marker_index:
            return (f"no {mech.alteration} feature for {mech.marker} among the model's "
                    "features (off the panels, or too few carriers to build one)")
        return None

    def _within_types(self, values: np.ndarray, applies: np.ndarray, carriers: np.ndarray
                      ) -> tuple[list[str], list[float], list[int], int, int, float, float,
                                 int]:
        """Per applicable cancer type with enough carriers and non-carriers: the SHAP
        difference and its weight; with the totals and the most carriers in one type."""
        tested_types: list[str] = []
        diffs: list[float] = []
        weights: list[int] = []
        n_car = n_non = best = 0
        sum_car = sum_non = 0.0
        for t in pd.unique(self.types[applies]):
            rows = applies & (self.types == t)
            car, non = rows & (carriers == 1), rows & (carriers == 0)
            best = max(best, int(car.sum()))
            if car.sum() < self.min_carriers or non.sum() < self.min_carriers:
                continue
            tested_types.append(str(t))
            diffs.append(values[car].mean() - values[non].mean())
            weights.append(car.sum())
            n_car, n_non = n_car + int(car.sum()), n_non + int(non.sum())
            sum_car += float(values[car].sum())
            sum_non += float(values[non].sum())
        return tested_types, diffs, weights, n_car, n_non, sum_car, sum_non, best

    def _verdict(self, diff: float, direction: int, documented: str) -> tuple[str, str]:
        if abs(diff) < self.min_effect:
            return "neutral", (f"carriers differ by {diff:+.4f} log-odds: the model gives the "
                               "marker no material weight")
        if np.sign(diff) == direction:
            return "agree", f"carriers {diff:+.3f} log-odds vs non-carriers"
        return "disagree", (f"carriers {diff:+.3f} log-odds vs non-carriers, documented "
                            f"{documented}")
