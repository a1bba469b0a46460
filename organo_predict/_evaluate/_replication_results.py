"""What mechanism replication reports: one entry per knowledge-base mechanism (the cohort's
association, the model's reproduction and attribution, each with its interval and verdict),
and the table of them with its summaries, as JSON and one line per entry."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._fidelity import Contrast

__all__ = ["REFERENCE_OR", "Replication", "ReplicationEntry"]

REFERENCE_OR = 2.0  # the effect whose power is reported: a doubling (or halving) of the odds


@dataclass(frozen=True, slots=True)
class ReplicationEntry:
    """One knowledge-base entry: cohort, model marginal and model attribution, with verdicts."""

    id: str
    marker: str
    organ: str
    direction: str
    evidence: str
    n_carriers: int
    n_non_carriers: int
    strata: str  # "cancer type x subtype", or "cancer type" where subtypes define the marker
    cancer_types: tuple[str, ...]
    cohort: dict[str, object] | None
    model_marginal: dict[str, object] | None
    attribution: dict[str, object] | None
    carried_by: tuple[dict[str, object], ...]
    verdict: dict[str, str]
    reason: str
    power: float  # to detect an odds ratio of 2 (0.5 for "down") with these counts
    carriers_needed: int | None  # for 80% power at that odds ratio

    def to_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["cancer_types"] = list(self.cancer_types)
        d["carried_by"] = list(self.carried_by)
        return d

    def one_line(self, cohort_name: str) -> str:
        """One line for explanations: "replicated in MSK-MET: OR 1.80 [1.40, 2.30]"."""
        word = self.verdict["cohort"]
        if self.cohort is None:
            return f"{word} in {cohort_name}: {self.reason}"
        low, high = self.cohort["or_ci"]
        return f"{word} in {cohort_name}: OR {self.cohort['or']:.2f} [{low:.2f}, {high:.2f}]"


@dataclass(frozen=True, slots=True)
class Replication:
    """The knowledge base checked against a cohort and a model."""

    entries: tuple[ReplicationEntry, ...]
    cohort_name: str
    model_intervals: str  # how the model-side intervals were made
    n_bootstrap: int
    min_carriers: int
    # each tested entry's rows, carriers, strata, labels and predictions (`predictions`
    # given), for the fidelity report (`_fidelity`); not serialised
    contrasts: tuple[Contrast, ...] = field(default=(), repr=False, compare=False)

    def to_list(self) -> list[dict[str, object]]:
        return [e.to_dict() for e in self.entries]

    def table(self) -> dict[str, object]:
        """{"summary": ..., "entries": [...]}: what a model carries and `mechanisms` prints."""
        return {"summary": self.summary(), "entries": self.to_list()}

    def summaries(self) -> dict[str, str]:
        """{entry id: one line} for the explanations of a model trained on this cohort."""
        return {e.id: e.one_line(self.cohort_name) for e in self.entries}

    def summary(self) -> dict[str, object]:
        """The counts and shares below, with how the intervals were made."""
        return {**self.shares(), "cohort": self.cohort_name,
                "model_intervals": self.model_intervals, "min_carriers": self.min_carriers,
                "power_reported_at_odds_ratio": REFERENCE_OR}

    def shares(self) -> dict[str, object]:
        """Among entries the cohort replicates: how many the model reproduces and how many it
        attributes to the marker itself."""
        replicated = [e for e in self.entries if e.verdict["cohort"] == "replicated"]
        reproduced = [e for e in replicated if e.verdict["model"] == "reproduces"]
        attributed = [e for e in replicated
                      if e.verdict["attribution"] == "attributed to the marker"]
        testable = [e for e in self.entries if e.verdict["cohort"] != "untestable"]
        return {"entries": len(self.entries), "testable": len(testable),
                "replicated": len(replicated), "opposite": sum(
                    e.verdict["cohort"] == "opposite" for e in testable),
                "reproduced_by_model": len(reproduced),
                "attributed_to_marker": len(attributed),
                "share_reproduced": len(reproduced) / len(replicated) if replicated else None,
                "share_attributed": len(attributed) / len(replicated) if replicated else None}
