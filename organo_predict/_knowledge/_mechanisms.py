"""The mechanism knowledge base (features/mechanisms.toml): each documented marker -> organ
link with its alteration, direction, the cancer types it applies to, its evidence and
citation, checked against its schema and against the markers the package can build."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from .._base._errors import FeatureError, did_you_mean
from .._cohort._study import reference_panels
from ._feature_names import ALTERATIONS
from ._recipes import load_recipes, read_toml
from ._schemas import Mechanisms, feature_error

__all__ = ["KnowledgeBase", "Mechanism", "known_markers", "load_mechanisms", "parse_mechanisms"]


@dataclass(frozen=True, slots=True)
class Mechanism:
    """One documented marker -> organ link (features/mechanisms.toml)."""

    id: str
    marker: str
    alteration: str
    organ: str
    direction: int  # +1 up, -1 down
    cancer_types: tuple[str, ...]  # ("*",) = all
    subtypes: tuple[str, ...]
    condition: str | None
    evidence: str
    mechanism: str
    citation: str

    def applies_to(self, cancer_type: str | None, subtype: str | None) -> bool:
        if "*" not in self.cancer_types and cancer_type not in self.cancer_types:
            return False
        return not self.subtypes or subtype in self.subtypes

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "marker": self.marker, "alteration": self.alteration,
                "organ": self.organ, "direction": "up" if self.direction > 0 else "down",
                "cancer_types": list(self.cancer_types), "subtypes": list(self.subtypes),
                "condition": self.condition, "evidence": self.evidence,
                "mechanism": self.mechanism, "citation": self.citation}


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    version: str
    citation: str
    mechanisms: tuple[Mechanism, ...]


@cache
def load_mechanisms() -> KnowledgeBase:
    """Read and check the shipped mechanisms.toml (cached)."""
    return parse_mechanisms(read_toml("mechanisms.toml"), "mechanisms.toml",
                            known_markers())


def known_markers() -> frozenset[str]:
    """What a mechanism may name as its marker: a gene of a reference panel or of the
    recipes, or a receptor status ("HR status")."""
    recipes = load_recipes()
    genes = frozenset().union(*reference_panels().values())
    return (genes | set(recipes.core_genes) | set(recipes.tumor_suppressors)
            | {h.gene for h in recipes.hotspots} | {f"{r.name} status" for r in recipes.receptors}
            | {g for s in recipes.gene_sets for g in (*s.oncogenes, *s.tumor_suppressors)})


def parse_mechanisms(data: dict[str, Any], name: str,
                     markers: frozenset[str] | None = None) -> KnowledgeBase:
    """Check a parsed knowledge base; a bad entry is a FeatureError naming `name` and its id.
    With `markers`, an entry's marker must be one of them."""
    feature_error(Mechanisms, data, name)  # keys, types, organ, direction, evidence
    entries, seen = [], set()
    for entry in data["mechanism"]:
        ident = entry["id"]
        what = f"[[mechanism]] {ident}"
        if ident in seen:
            raise FeatureError(f"{name}: {what}: duplicate id")
        seen.add(ident)
        if entry["alteration"] not in ALTERATIONS:
            raise FeatureError(f"{name}: {what}: alteration {entry['alteration']!r} is not one "
                               f"of {', '.join(ALTERATIONS)}")
        if markers is not None and entry["marker"] not in markers:
            raise FeatureError(f"{name}: {what}, key 'marker': unknown marker "
                               f"{entry['marker']!r}{did_you_mean(entry['marker'], markers)}")
        entries.append(Mechanism(
            id=str(ident), marker=str(entry["marker"]), alteration=str(entry["alteration"]),
            organ=str(entry["organ"]), direction=1 if entry["direction"] == "up" else -1,
            cancer_types=tuple(entry["cancer_types"]), subtypes=tuple(entry.get("subtypes", ())),
            condition=entry.get("condition"), evidence=str(entry["evidence"]),
            mechanism=str(entry["mechanism"]), citation=str(entry["citation"])))
    return KnowledgeBase(str(data.get("version", "unversioned")), str(data["citation"]),
                         tuple(entries))
