"""What an explanation is: per patient and organ, the calibrated probability, its
cancer-type baseline, the exact walk from the expectation through the clinical context and
the markers, and the drivers with the documented mechanisms they match; as text and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._knowledge._feature_names import ALTERATION_PREFIXES
from .._model._prior import sigmoid

__all__ = ["NO_MECHANISM", "Driver", "MechanismMatch", "OrganExplanation", "PatientExplanation"]

NO_MECHANISM = "no documented mechanism"


@dataclass(frozen=True, slots=True)
class MechanismMatch:
    """A knowledge-base entry that speaks to one driver of one patient."""

    id: str
    direction: str  # "up" / "down", as documented
    alteration: str
    carrier: bool | None  # does this patient carry the alteration (None: not profiled)
    consistent: bool | None  # does the driver's sign agree with the entry, given `carrier`
    evidence: str
    mechanism: str
    citation: str
    replication: str | None = None  # does the training cohort show it ("replicated in ...")

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Driver:
    """A tumor-intrinsic marker and its contribution (log-odds) to one organ's prediction."""

    marker: str
    contribution: float
    values: dict[str, float | None]  # the patient's values of the marker's features
    mechanisms: tuple[MechanismMatch, ...] = ()

    @property
    def status(self) -> str:
        """What this patient has of the marker, so that "- TP53 -0.023" is not read as
        "mutant TP53 lowers risk": the altered features ("altered: mut_EGFR,
        hotspot_EGFR_L858R"), "not altered", "not profiled", a receptor's "positive" /
        "negative", or a measured value ("value 2.22")."""
        known = {k: v for k, v in self.values.items() if v is not None and v == v}
        flags = all(k.startswith(ALTERATION_PREFIXES) for k in self.values)
        if not known:
            return "not profiled" if flags or self.marker.endswith(" status") else "not measured"
        if self.marker.endswith(" status"):
            return "positive" if next(iter(known.values())) == 1 else "negative"
        if not flags:
            return f"value {next(iter(known.values())):.3g}"
        altered = [k for k, v in known.items() if v == 1.0]
        if altered:
            return "altered: " + ", ".join(altered)
        return "not altered" + ("" if len(known) == len(self.values) else " where profiled")

    def to_dict(self) -> dict[str, object]:
        return {"marker": self.marker, "contribution": self.contribution,
                "values": self.values, "status": self.status,
                "mechanisms": [m.to_dict() for m in self.mechanisms],
                "documented": bool(self.mechanisms)}


@dataclass(frozen=True, slots=True)
class OrganExplanation:
    organ: str
    probability: float
    baseline_rate: float  # the cancer-type/subtype prior alone
    log_odds: float
    expected_log_odds: float  # SHAP baseline: calibrated prior + the trees' expected value
    context_contribution: float
    context: dict[str, float]
    drivers_up: tuple[Driver, ...]
    drivers_down: tuple[Driver, ...]
    # the Venn-ABERS [p0, p1] within the cancer type (`_intervals`); None: the model has none
    interval: tuple[float, float] | None = None

    @property
    def probability_steps(self) -> dict[str, float]:
        """The same sum on the probability scale, exact at each step: the SHAP baseline
        (the prior's log-odds plus the trees' expected value), then with the clinical
        context added, then with every marker (the prediction)."""
        with_context = self.expected_log_odds + self.context_contribution
        return {"expected": float(sigmoid(self.expected_log_odds)),
                "with_context": float(sigmoid(with_context)),
                "with_markers": self.probability}

    def to_dict(self) -> dict[str, object]:
        return {"organ": self.organ, "probability": self.probability,
                "baseline_rate": self.baseline_rate, "log_odds": self.log_odds,
                "expected_log_odds": self.expected_log_odds,
                "probability_steps": self.probability_steps,
                "interval": (None if self.interval is None else
                             {"low": self.interval[0], "high": self.interval[1]}),
                "context_contribution": self.context_contribution, "context": self.context,
                "drivers_up": [d.to_dict() for d in self.drivers_up],
                "drivers_down": [d.to_dict() for d in self.drivers_down]}


@dataclass(frozen=True, slots=True)
class PatientExplanation:
    """Why the model predicts what it predicts for one sample, organ by organ."""

    sample_id: str
    cancer_type: str | None
    subtype: str | None
    organs: tuple[OrganExplanation, ...]
    knowledge_base_version: str = ""

    def organ(self, name: str) -> OrganExplanation:
        for item in self.organs:
            if item.organ == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, object]:
        return {"sample_id": self.sample_id, "cancer_type": self.cancer_type,
                "subtype": self.subtype, "knowledge_base_version": self.knowledge_base_version,
                "organs": [o.to_dict() for o in self.organs]}

    def render(self, organs: Sequence[str] | None = None) -> str:
        """Plain-text explanation, organs by descending probability."""
        lines = [f"{self.sample_id}: {self.cancer_type or 'unknown cancer type'}"
                 + (f" ({self.subtype})" if self.subtype else "")]
        chosen = [o for o in self.organs if organs is None or o.organ in organs]
        for o in sorted(chosen, key=lambda o: -o.probability):
            interval = ("" if o.interval is None else
                        f" (calibrated within type: {o.interval[0]:.1%}-{o.interval[1]:.1%})")
            lines.append(f"\n{o.organ}: {o.probability:.1%}{interval}; baseline for this cancer type "
                         f"and subtype {o.baseline_rate:.1%}; clinical context (sex, age, "
                         f"primary site) {o.context_contribution:+.2f}; markers (log-odds):")
            steps = o.probability_steps
            lines.append(f"  (as probabilities: the model's expectation for this type "
                         f"{steps['expected']:.1%}, with the clinical context "
                         f"{steps['with_context']:.1%}, with the markers "
                         f"{steps['with_markers']:.1%})")
            for title, drivers in (("up", o.drivers_up), ("down", o.drivers_down)):
                for d in drivers:
                    lines.append(f"  {'+' if title == 'up' else '-'} {d.marker:<16} "
                                 f"{d.contribution:+.3f}  ({d.status})"
                                 + ("" if d.mechanisms else f"; {NO_MECHANISM}"))
                    for m in d.mechanisms:
                        carrier = {True: "carrier", False: "not a carrier",
                                   None: "not profiled"}[m.carrier]
                        lines.append(f"      [{m.id}] {m.mechanism} ({carrier}; {m.citation})")
                        if m.replication:
                            lines.append(f"        {m.replication}")
        return "\n".join(lines)
