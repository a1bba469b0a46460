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

from .._base._errors import FeatureError
from ._schemas import (
    CancerTypes,
    Dosage,
    GeneSets,
    Leakage,
    Markers,
    Spectrum,
    feature_error,
)

__all__ = ["AlleleLengthClasses", "GeneSet", "Hotspot", "LeakageRules", "Receptor", "Recipes",
           "load_cancer_types", "load_recipes", "read_toml", "spelling"]


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
    when_missing: str  # "learned" or "cancer_type_median": see markers.toml


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
    version: str = ""
    unprofiled_read_as: str = "absent"  # how trees read an unprofiled alteration flag

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
class AlleleLengthClasses:
    """features/markers.toml [allele_length_classes]: the class an indel's allele lengths
    imply where the MAF row has none (`unknown`)."""

    unknown: frozenset[str]
    frameshift_deletion: str
    frameshift_insertion: str
    in_frame_deletion: str
    in_frame_insertion: str


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
    primary_site_columns: tuple[str, ...]
    primary_site_min_count: int
    gene_sets: tuple[GeneSet, ...]
    leakage: LeakageRules
    tmb_mb_per_gene: float
    tmb_exome_mb: float
    # markers.toml as its schema validated it: a section that needs no derived form
    # (compiled patterns, sets) is read from here, declared once in `_schemas`
    markers: Markers
    protein_change_classes: tuple[tuple[re.Pattern[str], str], ...] = ()
    allele_length_classes: AlleleLengthClasses | None = None

    @property
    def spectrum(self) -> Spectrum | None:
        return self.markers.spectrum

    @property
    def dosage(self) -> Dosage | None:
        return self.markers.dosage

    def class_of_protein_change(self, change: str) -> str | None:
        """The MAF Variant_Classification an HGVS protein change implies, or None."""
        change = change.removeprefix("p.")
        for pattern, variant_class in self.protein_change_classes:
            if pattern.search(change):
                return variant_class
        return None


def read_toml(name: str) -> dict[str, Any]:
    """Parse one shipped TOML file; a syntax error names the file. Its reader checks it
    against its schema (`load_recipes`, `load_cancer_types`, `parse_mechanisms`)."""
    try:
        text = (resources.files("organo_predict.recipes") / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeatureError(f"recipe file {name!r} is missing from the package") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FeatureError(f"{name}: {exc}") from None
    return data


def _regex(value: str, file: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise FeatureError(f"{file}: {what}: invalid regular expression {value!r} ({exc})") from None


@cache
def load_recipes() -> Recipes:
    """Read and check markers.toml, gene_sets.toml and leakage.toml (cached). Each file is
    read as its schema validated it: defaults are the schema's, declared once."""
    markers: Markers = feature_error(Markers, read_toml("markers.toml"),
                                     "markers.toml")
    leak: Leakage = feature_error(Leakage, read_toml("leakage.toml"),
                                  "leakage.toml")
    sets: GeneSets = feature_error(GeneSets, read_toml("gene_sets.toml"),
                                   "gene_sets.toml")
    mc, clinical = markers.mutation_classes, markers.clinical
    exceptions = mc.noncoding_exceptions.model_extra or {}  # GENE = [alterations] pairs
    return Recipes(
        version=str(markers.version),
        not_protein_altering=frozenset(mc.not_protein_altering),
        truncating=frozenset(mc.truncating),
        missense=frozenset(mc.missense),
        known_classes=frozenset(mc.truncating) | frozenset(mc.missense)
        | frozenset(mc.known_other),
        noncoding_exceptions={g: frozenset(v) for g, v in exceptions.items()
                              if isinstance(v, list)},
        tumor_suppressors=tuple(markers.tumor_suppressors.genes),
        core_genes=tuple(markers.core.genes),
        hotspots=_hotspots(markers),
        receptors=_receptors(markers),
        summaries=_summaries(markers),
        cancer_type_columns=tuple(clinical.cancer_type_columns),
        subtype_columns=tuple(clinical.subtype_columns),
        sex_columns=tuple(clinical.sex_columns),
        female=frozenset(clinical.female),
        male=frozenset(clinical.male),
        age_columns=tuple(clinical.age_columns),
        primary_site_columns=tuple(clinical.primary_site_columns),
        primary_site_min_count=clinical.primary_site_min_count,
        gene_sets=tuple(GeneSet(e.name, tuple(e.oncogenes), tuple(e.tumor_suppressors),
                                e.rationale, e.citation) for e in sets.gene_set),
        leakage=_leakage_rules(leak),
        tmb_mb_per_gene=float(markers.tmb_fallback.mb_per_gene),
        tmb_exome_mb=float(markers.tmb_fallback.exome_mb),
        protein_change_classes=_protein_change_classes(markers),
        allele_length_classes=_allele_length_classes(markers),
        markers=markers,
    )


def _hotspots(markers: Markers) -> tuple[Hotspot, ...]:
    hotspots = []
    seen: set[str] = set()
    for entry in markers.hotspot:
        what = f"hotspot {entry.gene}_{entry.name}"
        hs = Hotspot(entry.gene, entry.name, _regex(entry.pattern, "markers.toml", what),
                     entry.rationale, entry.citation)
        if hs.feature in seen:
            raise FeatureError(f"markers.toml: {what} is defined twice")
        seen.add(hs.feature)
        hotspots.append(hs)
    return tuple(hotspots)


def _receptors(markers: Markers) -> tuple[Receptor, ...]:
    receptors = []
    for entry in markers.receptor:
        what = f"receptor {entry.name}"
        sources = tuple(ReceptorSource(s.column, _regex(s.positive, "markers.toml", what),
                                       _regex(s.negative, "markers.toml", what))
                        for s in entry.source)
        receptors.append(Receptor(entry.name, tuple(entry.applies_to), sources,
                                  entry.rationale, entry.citation))
    return tuple(receptors)


def _summaries(markers: Markers) -> tuple[Summary, ...]:
    return tuple(Summary(entry.name, tuple(entry.columns), entry.rationale, entry.citation,
                         entry.when_missing) for entry in markers.summary)


def _leakage_rules(leak: Leakage) -> LeakageRules:
    deny, audit = leak.denylist, leak.audit
    return LeakageRules(
        columns=frozenset(deny.columns),
        prefixes=tuple(deny.prefixes),
        patterns=tuple(_regex(p, "leakage.toml", "denylist") for p in deny.patterns),
        missing_odds_ratio=float(audit.missing_odds_ratio),
        min_group=int(audit.min_group),
        min_group_fraction=float(audit.min_group_fraction),
        separation_auroc=float(audit.separation_auroc),
        implies_rate=float(audit.implies_rate),
        implies_prevalence=float(audit.implies_prevalence),
        version=str(leak.version),
        # without [unprofiled], flags off a sample's panel are read as not carried
        unprofiled_read_as="absent" if leak.unprofiled is None else leak.unprofiled.read_as,
    )


def _allele_length_classes(markers: Markers) -> AlleleLengthClasses | None:
    entry = markers.allele_length_classes
    if entry is None:
        return None
    return AlleleLengthClasses(frozenset(entry.unknown), entry.frameshift_deletion,
                               entry.frameshift_insertion, entry.in_frame_deletion,
                               entry.in_frame_insertion)


def _protein_change_classes(markers: Markers) -> tuple[tuple[re.Pattern[str], str], ...]:
    entry = markers.protein_change_classes
    if entry is None:
        return ()
    return tuple((_regex(pattern, "markers.toml", "protein_change_classes"), str(variant_class))
                 for pattern, variant_class in entry.rules)  # [pattern, class] pairs


def spelling(value: str) -> str:
    """How two spellings of a name are compared: case and runs of spaces ignored."""
    return " ".join(str(value).split()).casefold()


@cache
def load_cancer_types() -> dict[str, str]:
    """cancer_types.toml as spelling (`spelling()` of a code or name) -> the CANCER_TYPE it
    stands for; a spelling claimed by two types is a FeatureError naming both."""
    data = read_toml("cancer_types.toml")
    feature_error(CancerTypes, data, "cancer_types.toml")
    aliases: dict[str, str] = {}
    for entry in data["type"]:
        for alias in (entry["name"], *entry.get("codes", []), *entry.get("names", [])):
            key = spelling(alias)
            if aliases.setdefault(key, entry["name"]) != entry["name"]:
                raise FeatureError(f"cancer_types.toml: {alias!r} names both "
                                   f"{aliases[key]!r} and {entry['name']!r}")
    return aliases
