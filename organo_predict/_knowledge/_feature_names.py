"""What features are called, and what they mean to a reader: the marker a feature belongs
to (`mut_EGFR`, `amp_EGFR`, `hotspot_EGFR_L858R` -> EGFR), the clinical context kept apart
from tumor-intrinsic markers, and categorical codes as the names clients send."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

__all__ = ["ALTERATION_PREFIXES", "CATEGORICAL_FEATURES", "CONTEXT_FEATURES", "GENE_PREFIXES",
           "SPECTRUM_FEATURES",
           "categories_from_strings", "categories_to_strings", "feature_groups", "frequent_levels",
           "marker_of"]


class FittedCategories(Protocol):
    """What the conversions need of a fitted FeatureBuilder."""

    categories_: dict[str, list[str]]
    feature_names_: list[str]

    def match(self, name: str, value: object) -> str | None: ...


CATEGORICAL_FEATURES = ("cancer_type", "subtype", "primary_site")
CONTEXT_FEATURES = ("cancer_type", "subtype", "primary_site", "sex", "age")
GENE_PREFIXES = ("mut_", "trunc_", "missense_", "amp_", "del_", "sv_", "dosage_")
SPECTRUM_FEATURES = ("sbs_C_A", "sbs_C_G", "sbs_C_T", "sbs_T_A", "sbs_T_C", "sbs_T_G",
                     "dbs_CC_TT", "indel_share")
ALTERATION_PREFIXES = (*GENE_PREFIXES, "hotspot_", "path_")


def marker_of(feature: str) -> str:
    """The marker a feature belongs to: `mut_EGFR`, `amp_EGFR`, `hotspot_EGFR_L858R` -> EGFR;
    `path_PI3K` -> `PI3K pathway`; `status_HR` -> `HR status`; others are their own marker."""
    for prefix in GENE_PREFIXES:
        if feature.startswith(prefix):
            return feature[len(prefix):]
    if feature.startswith("hotspot_"):
        return feature[len("hotspot_"):].rsplit("_", 1)[0]
    if feature.startswith("path_"):
        return f"{feature[len('path_'):]} pathway"
    if feature.startswith("status_"):
        return f"{feature[len('status_'):]} status"
    if feature.startswith("extra_"):
        return feature[len("extra_"):]
    if feature in SPECTRUM_FEATURES:
        return "mutational spectrum"
    return feature


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
