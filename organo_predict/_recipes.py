"""Typed access to the declarative knowledge under features/ (shipped as organo_predict.recipes).

Every entry must carry a rationale and a citation; a malformed file is a FeatureError that
names the file and the entry.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ._errors import FeatureError

__all__ = ["GeneSet", "Hotspot", "LeakageRules", "Receptor", "Recipes", "load_recipes"]


@dataclass(frozen=True, slots=True)
class Hotspot:
    gene: str
    name: str
    pattern: re.Pattern[str]
    rationale: str
    citation: str

    @property
    def feature(self) -> str:
        return f"hotspot_{self.gene}_{self.name}"


@dataclass(frozen=True, slots=True)
class ReceptorSource:
    column: str
    positive: re.Pattern[str]
    negative: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Receptor:
    name: str
    applies_to: tuple[str, ...]
    sources: tuple[ReceptorSource, ...]
    rationale: str
    citation: str


@dataclass(frozen=True, slots=True)
class Summary:
    name: str
    columns: tuple[str, ...]
    rationale: str
    citation: str


@dataclass(frozen=True, slots=True)
class GeneSet:
    name: str
    oncogenes: tuple[str, ...]
    tumor_suppressors: tuple[str, ...]
    rationale: str
    citation: str

    @property
    def genes(self) -> tuple[str, ...]:
        return self.oncogenes + self.tumor_suppressors


@dataclass(frozen=True, slots=True)
class LeakageRules:
    columns: frozenset[str]
    prefixes: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    missing_odds_ratio: float
    min_group: int
    min_group_fraction: float
    separation_auroc: float
    implies_rate: float
    implies_prevalence: float

    def denies(self, column: str) -> str | None:
        """Why `column` may never be an input, or None when it may."""
        if column in self.columns:
            return "it is on the denylist"
        for prefix in self.prefixes:
            if column.startswith(prefix):
                return f"its prefix {prefix!r} is on the denylist"
        for pattern in self.patterns:
            if pattern.search(column):
                return f"it matches the denylisted pattern {pattern.pattern!r}"
        return None


@dataclass(frozen=True, slots=True)
class Recipes:
    """Everything the feature builder knows, read from TOML."""

    version: str
    not_protein_altering: frozenset[str]
    truncating: frozenset[str]
    missense: frozenset[str]
    known_classes: frozenset[str]
    noncoding_exceptions: dict[str, frozenset[str]]
    tumor_suppressors: tuple[str, ...]
    core_genes: tuple[str, ...]
    hotspots: tuple[Hotspot, ...]
    receptors: tuple[Receptor, ...]
    summaries: tuple[Summary, ...]
    cancer_type_columns: tuple[str, ...]
    subtype_columns: tuple[str, ...]
    sex_columns: tuple[str, ...]
    female: frozenset[str]
    male: frozenset[str]
    age_columns: tuple[str, ...]
    gene_sets: tuple[GeneSet, ...]
    leakage: LeakageRules
    tmb_mb_per_gene: float
    tmb_exome_mb: float


def read_toml(name: str) -> dict[str, Any]:
    """Parse one shipped TOML file; a syntax error names the file."""
    try:
        text = (resources.files("organo_predict.recipes") / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeatureError(f"recipe file {name!r} is missing from the package") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FeatureError(f"{name}: {exc}") from None


def _cited(entry: dict[str, Any], file: str, what: str) -> tuple[str, str]:
    rationale, citation = entry.get("rationale"), entry.get("citation")
    if not rationale or not citation:
        raise FeatureError(f"{file}: {what} needs both 'rationale' and 'citation'")
    return str(rationale), str(citation)


def _regex(value: str, file: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise FeatureError(f"{file}: {what}: invalid regular expression {value!r} ({exc})") from None


@cache
def load_recipes() -> Recipes:
    """Read and check markers.toml, gene_sets.toml and leakage.toml (cached)."""
    markers = read_toml("markers.toml")
    sets = read_toml("gene_sets.toml")
    leak = read_toml("leakage.toml")
    mc = markers["mutation_classes"]
    _cited(mc, "markers.toml", "[mutation_classes]")
    exceptions = dict(mc.get("noncoding_exceptions", {}))
    _cited(exceptions, "markers.toml", "[mutation_classes.noncoding_exceptions]")
    exc_genes = {g: frozenset(v) for g, v in exceptions.items() if isinstance(v, list)}
    _cited(markers["tumor_suppressors"], "markers.toml", "[tumor_suppressors]")
    _cited(markers["core"], "markers.toml", "[core]")
    _cited(markers["tmb_fallback"], "markers.toml", "[tmb_fallback]")
    _cited(markers["clinical"], "markers.toml", "[clinical]")
    hotspots = []
    seen: set[str] = set()
    for entry in markers.get("hotspot", []):
        what = f"hotspot {entry.get('gene')}_{entry.get('name')}"
        rationale, citation = _cited(entry, "markers.toml", what)
        hs = Hotspot(entry["gene"], entry["name"], _regex(entry["pattern"], "markers.toml", what),
                     rationale, citation)
        if hs.feature in seen:
            raise FeatureError(f"markers.toml: {what} is defined twice")
        seen.add(hs.feature)
        hotspots.append(hs)
    receptors = []
    for entry in markers.get("receptor", []):
        what = f"receptor {entry.get('name')}"
        rationale, citation = _cited(entry, "markers.toml", what)
        sources = tuple(
            ReceptorSource(s["column"], _regex(s["positive"], "markers.toml", what),
                           _regex(s["negative"], "markers.toml", what))
            for s in entry.get("source", []))
        receptors.append(Receptor(entry["name"], tuple(entry.get("applies_to", [])), sources,
                                  rationale, citation))
    summaries = []
    for entry in markers.get("summary", []):
        rationale, citation = _cited(entry, "markers.toml", f"summary {entry.get('name')}")
        summaries.append(Summary(entry["name"], tuple(entry["columns"]), rationale, citation))
    gene_sets = []
    for entry in sets.get("gene_set", []):
        rationale, citation = _cited(entry, "gene_sets.toml", f"gene set {entry.get('name')}")
        gene_sets.append(GeneSet(entry["name"], tuple(entry.get("oncogenes", [])),
                                 tuple(entry.get("tumor_suppressors", [])), rationale, citation))
    _cited(leak, "leakage.toml", "the file")
    deny, audit = leak["denylist"], leak["audit"]
    clinical = markers["clinical"]
    return Recipes(
        version=str(markers.get("version", "")),
        not_protein_altering=frozenset(mc["not_protein_altering"]),
        truncating=frozenset(mc["truncating"]),
        missense=frozenset(mc["missense"]),
        known_classes=frozenset(mc["truncating"]) | frozenset(mc["missense"])
        | frozenset(mc["known_other"]),
        noncoding_exceptions=exc_genes,
        tumor_suppressors=tuple(markers["tumor_suppressors"]["genes"]),
        core_genes=tuple(markers["core"]["genes"]),
        hotspots=tuple(hotspots),
        receptors=tuple(receptors),
        summaries=tuple(summaries),
        cancer_type_columns=tuple(clinical["cancer_type_columns"]),
        subtype_columns=tuple(clinical["subtype_columns"]),
        sex_columns=tuple(clinical["sex_columns"]),
        female=frozenset(clinical["female"]),
        male=frozenset(clinical["male"]),
        age_columns=tuple(clinical["age_columns"]),
        gene_sets=tuple(gene_sets),
        leakage=LeakageRules(
            columns=frozenset(deny["columns"]),
            prefixes=tuple(deny.get("prefixes", [])),
            patterns=tuple(_regex(p, "leakage.toml", "denylist") for p in
                           deny.get("patterns", [])),
            missing_odds_ratio=float(audit["missing_odds_ratio"]),
            min_group=int(audit["min_group"]),
            min_group_fraction=float(audit["min_group_fraction"]),
            separation_auroc=float(audit["separation_auroc"]),
            implies_rate=float(audit["implies_rate"]),
            implies_prevalence=float(audit["implies_prevalence"]),
        ),
        tmb_mb_per_gene=float(markers["tmb_fallback"]["mb_per_gene"]),
        tmb_exome_mb=float(markers["tmb_fallback"]["exome_mb"]),
    )
