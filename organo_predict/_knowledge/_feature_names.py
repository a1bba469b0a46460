"""What features are called, and what they mean to a reader: the marker a feature belongs
to (`mut_EGFR`, `amp_EGFR`, `hotspot_EGFR_L858R` -> EGFR), the clinical context kept apart
from tumor-intrinsic markers, and categorical codes as the names clients send."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

__all__ = ["ALTERATIONS", "ALTERATION_PREFIXES", "CARRIER_FILTERED_PREFIXES",
           "CATEGORICAL_FEATURES", "CONTEXT_FEATURES", "KINDS", "SPECTRUM_FEATURES",
           "FeatureKind", "categories_from_strings", "categories_to_strings", "feature_groups",
           "frequent_levels", "is_context", "kind_of", "marker_of", "register"]


class FittedCategories(Protocol):
    """What the conversions need of a fitted FeatureBuilder."""

    categories_: dict[str, list[str]]
    feature_names_: list[str]

    def match(self, name: str, value: object) -> str | None: ...


CATEGORICAL_FEATURES = ("cancer_type", "subtype", "primary_site")
CONTEXT_FEATURES = ("cancer_type", "subtype", "primary_site", "sex", "age")
SPECTRUM_FEATURES = ("sbs_C_A", "sbs_C_G", "sbs_C_T", "sbs_T_A", "sbs_T_C", "sbs_T_G",
                     "dbs_CC_TT", "indel_share")
# What a mechanism of the knowledge base may name as its alteration (mechanisms.toml)
MECHANISM_ALTERATIONS = ("mutation", "amplification", "deletion", "loss", "fusion", "any",
                         "positive")


def _gene(rest: str) -> str:
    return rest


@dataclass(frozen=True, slots=True)
class FeatureKind:
    """One kind of feature name, `<prefix><rest>`, and what the rest of the package reads
    from it. A new kind of marker registers here (`register`) and builds its columns in
    `_features/_blocks`; nothing else lists prefixes.

    marker: the marker a feature belongs to, from the rest of its name (`amp_EGFR` ->
        EGFR): explanations sum a marker's features.
    alteration: a flag whose NaN means "not profiled on this sample's panel" (read as "not
        carried" by the trees, shown as such, audited for leakage).
    carrier_filtered: kept only when at least `min_carriers` fitted samples carry it
        (markers of `[core]` genes in markers.toml always).
    evidences: the mechanism alterations (`MECHANISM_ALTERATIONS`) a value of 1 makes a
        carrier of.
    context: clinical context, reported apart from the tumor's markers.
    """

    prefix: str
    marker: Callable[[str], str] = _gene
    alteration: bool = False
    carrier_filtered: bool = False
    evidences: tuple[str, ...] = ()
    context: bool = False


KINDS: dict[str, FeatureKind] = {}  # prefix -> kind, in the order names are matched


def register(kind: FeatureKind) -> FeatureKind:
    """Add a kind of feature name; a prefix that another kind's names could start with, or
    an unknown mechanism alteration, is refused (the registry stays unambiguous)."""
    unknown = set(kind.evidences) - set(MECHANISM_ALTERATIONS)
    if unknown:
        raise ValueError(f"feature kind {kind.prefix!r}: unknown alteration(s) "
                         f"{sorted(unknown)}; one of {', '.join(MECHANISM_ALTERATIONS)}")
    clash = [p for p in KINDS if p.startswith(kind.prefix) or kind.prefix.startswith(p)]
    if clash:
        raise ValueError(f"feature kind {kind.prefix!r} overlaps {clash[0]!r}")
    KINDS[kind.prefix] = kind
    return kind


for _prefix, _evidences in (("mut_", ("mutation", "loss", "any")),
                            ("trunc_", ("mutation", "loss", "any")),
                            ("missense_", ("mutation", "any")),
                            ("amp_", ("amplification", "any")),
                            ("del_", ("deletion", "loss", "any")),
                            ("sv_", ("fusion", "any")),
                            ("dosage_", ())):  # per gene, read as altered or not
    register(FeatureKind(_prefix, alteration=True, carrier_filtered=True, evidences=_evidences))
register(FeatureKind("hotspot_", lambda rest: rest.rsplit("_", 1)[0], alteration=True,
                     carrier_filtered=True, evidences=("mutation", "any")))  # hotspot_EGFR_L858R
register(FeatureKind("path_", lambda rest: f"{rest} pathway", alteration=True))
register(FeatureKind("status_", lambda rest: f"{rest} status", evidences=("positive",)))
register(FeatureKind("extra_", context=True))  # extra clinical columns a user asked for
for _prefix in ("sbs_", "dbs_", "indel_share"):
    register(FeatureKind(_prefix, lambda rest: "mutational spectrum"))


def _prefixes(wanted: Callable[[FeatureKind], bool]) -> tuple[str, ...]:
    return tuple(prefix for prefix, kind in KINDS.items() if wanted(kind))


ALTERATION_PREFIXES = _prefixes(lambda kind: kind.alteration)
CARRIER_FILTERED_PREFIXES = _prefixes(lambda kind: kind.carrier_filtered)
# mechanism alteration -> feature prefixes whose value 1 makes a carrier
ALTERATIONS: dict[str, tuple[str, ...]] = {
    alteration: _prefixes(lambda kind, a=alteration: a in kind.evidences)
    for alteration in MECHANISM_ALTERATIONS}


def kind_of(feature: str) -> FeatureKind | None:
    """The registered kind of a feature name; None for the clinical context and
    whole-tumor summaries (`tmb`, `fga`, `aneuploidy`), which are their own markers."""
    for prefix, kind in KINDS.items():
        if feature.startswith(prefix):
            return kind
    return None


def marker_of(feature: str) -> str:
    """The marker a feature belongs to: `mut_EGFR`, `amp_EGFR`, `hotspot_EGFR_L858R` -> EGFR;
    `path_PI3K` -> `PI3K pathway`; `status_HR` -> `HR status`; others are their own marker."""
    kind = kind_of(feature)
    return feature if kind is None else kind.marker(feature[len(kind.prefix):])


def is_context(feature: str) -> bool:
    """Clinical context (cancer type, subtype, site, sex, age, a user's extra column),
    reported apart from the tumor's markers."""
    kind = kind_of(feature)
    return feature in CONTEXT_FEATURES or (kind is not None and kind.context)


def feature_groups(feature_names: Sequence[str]) -> Mapping[str, list[str]]:
    """Features grouped by marker (see `marker_of`), in first-seen order."""
    groups: dict[str, list[str]] = {}
    for name in feature_names:
        groups.setdefault(marker_of(name), []).append(name)
    return groups


def categories_to_strings(x: pd.DataFrame, builder: FittedCategories) -> pd.DataFrame:
    """Feature frame with `cancer_type`/`subtype` codes replaced by their names (for MLflow
    input examples, Spark and HTTP clients: strings survive every schema, codes do not)."""
    out = x.copy()
    for name in CATEGORICAL_FEATURES:
        if name in out.columns:
            levels = np.asarray(builder.categories_[name] + [""], dtype=object)
            codes = out[name].to_numpy()
            idx = np.where(np.isnan(codes), len(levels) - 1, np.nan_to_num(codes)).astype(int)
            out[name] = levels[idx]
    return out


def categories_from_strings(frame: pd.DataFrame, builder: FittedCategories) -> pd.DataFrame:
    """The inverse of `categories_to_strings`, names matched as `FeatureBuilder.match`
    does, tolerant of unseen names (-> NaN) and of missing feature columns (-> NaN);
    returns float32 in the fitted column order."""
    out = {}
    for name in builder.feature_names_:
        if name not in frame.columns:
            out[name] = np.full(len(frame), np.nan, dtype=np.float32)
        elif name in CATEGORICAL_FEATURES:  # matched as a study's are ("PRAD", any case)
            values = frame[name].astype(object).where(frame[name].notna(), None)
            matched = {v: builder.match(name, v) for v in pd.unique(values) if v is not None}
            codes = pd.Index(builder.categories_[name]).get_indexer(values.map(matched))
            out[name] = np.where(codes >= 0, codes, np.nan).astype(np.float32)
        else:
            out[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float32)
    return pd.DataFrame(out, index=frame.index)


def frequent_levels(values: pd.Series, min_count: int) -> list[str]:
    """Levels seen at least `min_count` times (rarer ones are coded unknown), sorted."""
    counts = values.dropna().astype(str).value_counts()
    return sorted(counts.index[counts >= min_count])
