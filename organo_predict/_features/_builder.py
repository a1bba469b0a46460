"""Cohort -> model input: tumor-intrinsic markers, panel-aware, float32.

A gene that is not on a sample's panel, or not profiled for copy number, is NaN, never 0.
The recipes (mutation classes, hotspots, receptor status, gene sets) come from TOML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from cachetools import LRUCache
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base._errors import (
    FeatureError,
    LeakageError,
    OrganoPredictError,
    did_you_mean,
)
from .._cohort._cohort import Cohort
from .._knowledge._feature_names import (
    ALTERATION_PREFIXES,
    CARRIER_FILTERED_PREFIXES,
    CATEGORICAL_FEATURES,
    categories_from_strings,
    categories_to_strings,
    frequent_levels,
    marker_of,
)
from .._knowledge._recipes import load_cancer_types, load_recipes, spelling
from ._blocks import ColumnBlocksMixin
from ._maf import lookup

# categoricals matched ignoring case and spacing (and cancer types by OncoTree code). Not
# primary_site: its training values differ by case alone ("Sigmoid colon", "Sigmoid Colon";
# 6 spellings, 35 samples of MSK-MET), so matching them would change the trained model:
# left to a change that measures it.
SPELLING_MATCHED = ("cancer_type", "subtype")
PANEL_CACHE_SIZE = 64  # gene lists a caller sent (`panel_genes`) whose columns are kept

__all__ = ["PANEL_CACHE_SIZE", "SPELLING_MATCHED", "FeatureBuilder"]


class FeatureBuilder(ColumnBlocksMixin, TransformerMixin, BaseEstimator):
    """Turn a `Cohort` into a float32 feature frame, one row per sample.

    Parameters:
        min_carriers: a genomic feature is kept only if at least this many fitted samples
            carry it (markers of `[core]` genes in markers.toml are always kept).
        extra_clinical: additional numeric clinical columns to use as `extra_<COLUMN>`;
            each is checked against the leakage denylist.
        include_sv: build `sv_<GENE>` structural-variant flags.
        include_pathways: build `path_<SET>` pathway flags (Sanchez-Vega et al. 2018).

    Fitted attributes:
        feature_names_: the output columns, in order.
        categories_: category levels of `cancer_type`, `subtype` and `primary_site`.
        genes_, cna_genes_, sv_genes_: vocabularies learned from the fitted cohort.
        recipes_version_: version of markers.toml used.
        alteration_features_: the alteration-flag columns (NaN: not profiled).
    """

    def __init__(self, min_carriers: int = 10, extra_clinical: Sequence[str] = (),
                 include_sv: bool = True, include_pathways: bool = True) -> None:
        self.min_carriers = min_carriers
        self.extra_clinical = extra_clinical
        self.include_sv = include_sv
        self.include_pathways = include_pathways

    # ------------------------------------------------------------------ estimator API

    def fit(self, cohort: Cohort, y: object = None) -> FeatureBuilder:
        """Learn gene vocabularies, categories and the kept feature columns."""
        self.fit_transform(cohort)
        return self

    def fit_transform(self, cohort: Cohort, y: object = None, **_: object) -> pd.DataFrame:
        recipes = load_recipes()
        self.__dict__.pop("_vocabulary_cache", None)
        self.__dict__.pop("_panel_cache", None)
        for column in self.extra_clinical:
            reason = recipes.leakage.denies(column)
            if reason is not None:
                raise LeakageError(f"clinical column {column!r} can never be a model input: "
                                   f"{reason} (leakage.toml) because it reveals the label or "
                                   "the follow-up")
            if column not in cohort.samples.columns and column not in cohort.patients.columns:
                raise FeatureError(f"extra clinical column {column!r} is in neither the sample "
                                   "nor the patient file")
        panel_genes = set().union(*(cohort.panels[p] for p in cohort.panel_ids_used()
                                    if p in cohort.panels))
        observed = set(cohort.mutations["Hugo_Symbol"].unique())
        self.genes_ = sorted(g for g in panel_genes | observed if isinstance(g, str))
        self.cna_genes_ = ([] if cohort.cna is None else sorted(map(str, cohort.cna.columns)))
        sv_genes = set(cohort.structural_variants["Site1_Hugo_Symbol"].dropna()) | set(
            cohort.structural_variants["Site2_Hugo_Symbol"].dropna())
        self.sv_genes_ = sorted(g for g in sv_genes if g in panel_genes | observed)
        cancer_type = cohort.clinical(recipes.cancer_type_columns)
        subtype = cohort.clinical(recipes.subtype_columns)
        self.categories_ = {
            "cancer_type": sorted(cancer_type.dropna().astype(str).unique()),
            "subtype": sorted(subtype.dropna().astype(str).unique()),
            "primary_site": frequent_levels(cohort.clinical(recipes.primary_site_columns),
                                             recipes.primary_site_min_count),
        }
        self.recipes_version_ = recipes.version
        full = self._build(cohort, recipes)
        core = set(recipes.core_genes)
        keep = []
        for name, column in full.items():
            if name.startswith(CARRIER_FILTERED_PREFIXES):
                carriers = int(np.nansum(column))
                if carriers == 0 or (carriers < self.min_carriers and marker_of(name) not in core):
                    continue
                if not (column == 0).any():
                    # 1 or NaN only (a gene on no panel, seen mutated): information would sit
                    # in the missingness alone, which is the leakage channel
                    continue
            keep.append(name)
        self.feature_names_ = keep
        return _assemble(full, keep, cohort.samples.index)

    def transform(self, cohort: Cohort) -> pd.DataFrame:
        """Features of `cohort` in the fitted column order; unseen genes, panels and cancer
        types are tolerated (unknown categories become NaN)."""
        check_is_fitted(self, "feature_names_")
        full = self._build(cohort, load_recipes())
        return _assemble(full, self.feature_names_, cohort.samples.index)

    def transform_named(self, cohort: Cohort) -> pd.DataFrame:
        """`transform` with cancer type and subtype as their names rather than codes: the
        rows a registered MLflow model, Spark or any JSON client takes."""
        return categories_to_strings(self.transform(cohort), self)

    def from_named(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The inverse of `transform_named`: rows with cancer type and subtype as names (an
        MLflow, Spark or JSON client's) as the float32 features in the fitted order; names
        are matched as a study's are, unseen ones and missing columns read as NaN."""
        check_is_fitted(self, "feature_names_")
        return categories_from_strings(frame, self)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def _cached(self, key: tuple, build: Callable[[], object]) -> object:
        """Lookups derived from the fitted vocabularies (indexes, column names, code
        tables), built once per fit: rebuilding them cost most of a small transform. The
        keys a caller chooses (a gene list sent as `panel_genes`) are kept in a bounded
        LRU, so a server fed a new gene list per request does not grow without end."""
        if key[0] == "panel":
            cache = self.__dict__.setdefault("_panel_cache", LRUCache(PANEL_CACHE_SIZE))
        else:  # keys from the fitted vocabularies only: a fixed, small set
            cache = self.__dict__.setdefault("_vocabulary_cache", {})
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def _index(self, vocabulary: str) -> pd.Index:
        return self._cached(("index", vocabulary),
                            lambda: pd.Index(getattr(self, vocabulary), dtype=object))

    def _names(self, prefix: str, vocabulary: str) -> list[str]:
        return self._cached(("names", prefix, vocabulary),
                            lambda: [f"{prefix}{g}" for g in getattr(self, vocabulary)])

    def __getstate__(self) -> dict[str, object]:
        state = super().__getstate__()
        return {k: v for k, v in state.items()
                if k not in ("_vocabulary_cache", "_panel_cache")}

    FITTED = ("genes_", "cna_genes_", "sv_genes_", "categories_", "feature_names_",
              "recipes_version_")  # what `fit` learns, all of it JSON-ready

    def to_state(self) -> dict[str, object]:
        """Settings and fitted vocabularies as JSON-ready values (a bundle's
        `features.json`)."""
        check_is_fitted(self, "feature_names_")
        params = self.get_params()
        params["extra_clinical"] = list(params["extra_clinical"])
        return {"params": params, **{name: getattr(self, name) for name in self.FITTED}}

    @classmethod
    def from_state(cls, state: Mapping[str, object]) -> FeatureBuilder:
        """The builder `to_state` described (a bundle written before a fitted name existed
        lacks it: `recipes_version_` is then not checked)."""
        builder = cls(**state["params"])
        for name in cls.FITTED:
            if name in state:
                setattr(builder, name, state[name])
        return builder

    @property
    def categorical_features_(self) -> list[str]:
        return [c for c in CATEGORICAL_FEATURES if c in self.feature_names_]

    @property
    def alteration_features_(self) -> list[str]:
        """Columns that flag an alteration (mutation, class, hotspot, copy number, fusion,
        pathway), where NaN means "not profiled on this sample's panel" rather than absent."""
        check_is_fitted(self, "feature_names_")
        return [f for f in self.feature_names_ if f.startswith(ALTERATION_PREFIXES)]

    def unseen_genes(self, cohort: Cohort) -> list[str]:
        """Mutated gene symbols of `cohort` outside the training vocabulary, sorted: the
        model reads nothing from them."""
        check_is_fitted(self, "feature_names_")
        return sorted(set(cohort.mutations["Hugo_Symbol"].dropna().astype(str))
                      - set(self.genes_))

    def unmatched_cancer_types(self, cohort: Cohort) -> pd.Series:
        """Samples per cancer type of `cohort` that matches no fitted type (`match`: not
        under any spelling or code), most first; a sample without a type is not counted."""
        check_is_fitted(self, "categories_")
        counts = cohort.clinical(load_recipes().cancer_type_columns).dropna().astype(
            str).value_counts()
        return counts[[self.match("cancer_type", kind) is None for kind in counts.index]]

    def check_cancer_types(self, cohort: Cohort, unknown_cancer_type: str = "refuse") -> None:
        """Refuse `cohort` when a sample's cancer type matches none the model knows (naming
        each, with its sample count and the closest known type), unless
        `unknown_cancer_type` is "pooled": such samples would be scored with the pooled
        prior, as another patient than the one described. A sample with no cancer type at
        all is not refused (there is no spelling to fix); score summaries count it."""
        if unknown_cancer_type == "pooled":
            return
        if unknown_cancer_type != "refuse":
            raise OrganoPredictError(f"unknown_cancer_type={unknown_cancer_type!r}: use "
                                     "'refuse' or 'pooled'")
        unknown = self.unmatched_cancer_types(cohort)
        if unknown.empty:
            return
        known = [str(k) for k in self.categories_["cancer_type"]]
        named = "; ".join(f"{k!r} ({n:,} sample(s){did_you_mean(k, known)})"
                          for k, n in unknown.iloc[:10].items())
        more = f"; and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        said = f"{int(unknown.sum()):,} sample(s) of cohort {cohort.study_id} have a cancer " \
               f"type the model has not seen: {named}{more}"
        # the option named as the caller spells it: a flag in the CLI, an argument in Python
        raise OrganoPredictError.about(
            said.replace("{", "{{").replace("}", "}}") + ". Fix the spelling (an OncoTree "
            "code or name in features/cancer_types.toml is matched), or pass "
            "{unknown_cancer_type} to score them with the pooled prior")

    def unseen(self, cohort: Cohort) -> dict[str, int]:
        """How much of `cohort` the fitted vocabulary does not cover, for score summaries."""
        check_is_fitted(self, "feature_names_")
        recipes = load_recipes()
        known_genes = set(self.genes_)
        genes = set(cohort.mutations["Hugo_Symbol"].unique())
        ct = cohort.clinical(recipes.cancer_type_columns)
        panels = cohort.panel_ids(cohort.samples.index, "mutations")
        return {
            "samples_unknown_cancer_type": int(ct.isna().sum()
                                               + self.unmatched_cancer_types(cohort).sum()),
            "genes_unknown": len(genes - known_genes),
            "samples_without_mutations": int(
                (~cohort.samples.index.isin(cohort.mutations["SAMPLE_ID"].unique())).sum()),
            "samples_unknown_panel": int(panels.notna().to_numpy().sum()
                                         - panels.isin(list(cohort.panels)).sum()),
        }

    def match(self, name: str, value: object) -> str | None:
        """The fitted level of categorical `name` ("cancer_type", "subtype",
        "primary_site") that `value` stands for: itself, the same ignoring case and spacing
        (`SPELLING_MATCHED` only), or (cancer types) an OncoTree code or name of
        features/cancer_types.toml ("prostate cancer", "PRAD" -> "Prostate Cancer"); None
        when it stands for none."""
        check_is_fitted(self, "categories_")
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if name not in SPELLING_MATCHED:  # exact: see SPELLING_MATCHED
            return str(value) if str(value) in self.categories_[name] else None
        return self._aliases(name).get(spelling(str(value)))

    def _aliases(self, name: str) -> dict[str, str]:
        def build() -> dict[str, str]:
            levels = [str(level) for level in self.categories_[name]]
            aliases = {spelling(level): level for level in levels}
            if name == "cancer_type":
                fitted = set(levels)
                for alias, level in load_cancer_types().items():
                    if level in fitted:
                        aliases.setdefault(alias, level)
            return aliases
        return self._cached(("aliases", name), build)

    def _matched(self, values: pd.Series, name: str) -> pd.Series:
        """`values` with each one that is no fitted level but stands for one (`match`)
        replaced by it; the rest as they are. Per distinct value."""
        levels = self._cached(("levels", name),
                              lambda: pd.Index(self.categories_[name], dtype=object))
        odd = [v for v in pd.unique(values) if v is not None and v == v and v not in levels]
        mapping = {v: found for v in odd if (found := self.match(name, v)) is not None}
        if not mapping:
            return values
        mapped = values.map(mapping)
        return mapped.where(mapped.notna(), values)

    def _codes(self, values: pd.Series, name: str) -> np.ndarray:
        """Category codes (NaN: missing or not a fitted level), looked up per distinct
        value; a value that is no level is matched (`match`) before it is called unknown."""
        levels = self._cached(("levels", name),
                              lambda: pd.Index(self.categories_[name], dtype=object))
        codes = lookup(self._matched(values, name), levels)
        return np.where(codes >= 0, codes, np.nan).astype(np.float32)

def _assemble(columns: Mapping[str, np.ndarray], names: Sequence[str],
              index: pd.Index) -> pd.DataFrame:
    """The named columns (NaN where absent) as a float32 frame backed by one C-ordered
    array: a row of it converts to numpy in microseconds, and no per-column pandas work is
    done (that cost ~80 ms per call, whatever the number of rows)."""
    data = np.empty((len(index), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        column = columns.get(name)
        data[:, j] = np.nan if column is None else column
    return pd.DataFrame(data, index=index, columns=pd.Index(names), copy=False)
