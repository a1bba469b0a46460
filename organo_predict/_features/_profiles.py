"""Patient profiles as a client sends them (JSON), validated, and turned into a `Cohort`.

The serving edge of the cohort stage: the endpoint and the page describe a patient by
cancer type, clinical context and genomic events; here that becomes the same in-memory
`Cohort` a cBioPortal study becomes, so the one feature builder serves both. Pure
computation apart from reading the shipped reference panels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .._base._errors import ProfileError, did_you_mean
from .._cohort._cohort import Cohort
from .._cohort._readers import GENE_SYMBOL_PATTERN
from .._knowledge._recipes import Recipes, load_recipes
from ._maf import effective_classes

__all__ = ["CopyNumber", "Fusion", "Mutation", "PatientProfile", "ProfileError",
           "check_panels", "cohort_from_profiles", "profiles_from_cohort"]

NOT_PROFILED = "NOT_PROFILED"  # panel id of a profile the client did not measure

GeneSymbol = Annotated[str, StringConstraints(
    strip_whitespace=True, pattern=GENE_SYMBOL_PATTERN)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PanelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
Status = Literal["Positive", "Negative"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Mutation(_Strict):
    """A somatic mutation: the gene plus its protein change and/or MAF class."""

    gene: GeneSymbol
    protein_change: Annotated[str, StringConstraints(
        strip_whitespace=True, max_length=60, pattern=r"^[A-Za-z0-9_.*?=>+\-]*$")] | None = None
    variant_classification: Annotated[str, StringConstraints(
        strip_whitespace=True, max_length=40, pattern=r"^[A-Za-z0-9_'\-]+$")] | None = None


class CopyNumber(_Strict):
    """A discrete copy-number call (GISTIC-like): -2 deep deletion ... 2 amplification."""

    gene: GeneSymbol
    value: int = Field(ge=-2, le=2, strict=True)


class Fusion(_Strict):
    """A structural variant / fusion between two genes (the second may be unknown)."""

    gene1: GeneSymbol
    gene2: GeneSymbol | None = None


class PatientProfile(_Strict):
    """One tumor sample. Genomic lists describe what was *found*; a profile that was not
    measured is `null` (copy number, fusions), which the model reads as unknown, never as
    'no alteration'. Genes off the panel are unknown too."""

    cancer_type: Label = Field(description="OncoTree main type, e.g. 'Non-Small Cell Lung "
                                           "Cancer' (see /metadata for the known ones); "
                                           "matched ignoring case, or by OncoTree code "
                                           "('PRAD'); an unknown one is refused unless "
                                           "unknown_cancer_type is 'pooled'")
    unknown_cancer_type: Literal["refuse", "pooled"] = Field(
        "refuse", description="a cancer type the model does not know: refused (422, with the "
                              "closest known), or scored with the pooled prior of all types "
                              "('pooled', said in the answer's warnings)")
    subtype: Label | None = Field(None, description="e.g. 'LUAD', 'IDC HR+HER2-'")
    primary_site: Label | None = None
    sex: Literal["Female", "Male"] | None = None
    age: float | None = Field(None, ge=0, le=120, strict=True,
                              description="age at sequencing, years")
    hr_status: Status | None = Field(None, description="breast: hormone receptor status")
    her2_status: Status | None = Field(None, description="breast: HER2 status")
    gene_panel: PanelId | None = Field(
        "IMPACT468", description="panel id (see /metadata); null with panel_genes null: "
                                 "whole exome")
    panel_genes: list[GeneSymbol] | None = Field(
        None, max_length=25000, description="the genes of a custom panel (instead of "
                                            "gene_panel)")
    mutations: list[Mutation] = Field(default_factory=list, max_length=5000)
    copy_number: list[CopyNumber] | None = Field(
        None, max_length=25000, description="calls on the panel; [] = profiled, none "
                                            "altered; null = not profiled")
    fusions: list[Fusion] | None = Field(
        None, max_length=500, description="[] = profiled, none found; null = not profiled")
    tmb: float | None = Field(None, ge=0, le=10000, strict=True,
                              description="mutations per megabase")
    fga: float | None = Field(None, ge=0, le=1, strict=True,
                              description="fraction of genome altered")
    aneuploidy: float | None = Field(None, ge=0, le=100, strict=True,
                                     description="aneuploidy score (arm-level events)")

    @field_validator("copy_number")
    @classmethod
    def _one_call_per_gene(cls, calls: list[CopyNumber] | None) -> list[CopyNumber] | None:
        """Two different calls for one gene contradict each other: refused, naming both
        (the answer would otherwise depend on their order)."""
        first: dict[str, int] = {}
        for i, call in enumerate(calls or []):
            j = first.setdefault(call.gene, i)
            if calls[j].value != call.value:  # type: ignore[index]
                raise ValueError(f"copy_number[{j}] and copy_number[{i}] give {call.gene} "
                                 f"two different calls ({calls[j].value} and "  # type: ignore[index]
                                 f"{call.value}); send one call per gene")
        return calls


def with_known_cancer_types(profiles: Sequence[PatientProfile],
                            match: Callable[[str], str | None], known: Sequence[str],
                            loc: tuple[str | int, ...] = ("body",)) -> list[PatientProfile]:
    """Each profile with its cancer type as the model spells it (`match`: "prostate
    cancer" or "PRAD" -> "Prostate Cancer"); ProfileError for the first one the model does
    not know, with the closest known type, unless it asks for the pooled prior
    (`unknown_cancer_type: "pooled"`). A type spelled differently was silently scored as an
    unknown type: pooled baselines and no documented mechanism."""
    out = []
    for i, profile in enumerate(profiles):
        found = match(profile.cancer_type)
        if found is None and profile.unknown_cancer_type != "pooled":
            where = loc + (i,) if len(profiles) > 1 or loc != ("body",) else loc
            hint = did_you_mean(profile.cancer_type, known) or (
                "; see /metadata for the known types")
            raise ProfileError(f"unknown cancer type {profile.cancer_type!r}{hint}; send "
                               "unknown_cancer_type: \"pooled\" to score it with the pooled "
                               "prior of all types", where + ("cancer_type",))
        out.append(profile if found in (None, profile.cancer_type)
                   else profile.model_copy(update={"cancer_type": found}))
    return out


def check_panels(profiles: Sequence[PatientProfile], panels: Mapping[str, frozenset[str]],
                 loc: tuple[str | int, ...] = ("body",)) -> None:
    """ProfileError for the first profile naming a gene panel nobody defined (what field
    validation alone cannot see). `loc` is where the profiles sit in the request; with more
    than one profile their index is added."""
    for i, profile in enumerate(profiles):
        if (profile.panel_genes is None and profile.gene_panel is not None
                and profile.gene_panel not in panels):
            where = loc + (i,) if len(profiles) > 1 or loc != ("body",) else loc
            raise ProfileError(f"unknown gene panel {profile.gene_panel!r}; known: "
                               f"{', '.join(sorted(panels))}; or send panel_genes",
                               where + ("gene_panel",))


def _panel_of(profile: PatientProfile, i: int, extra: dict[str, frozenset[str]]) -> str | None:
    if profile.panel_genes is not None:
        panel = f"custom_{i}"
        extra[panel] = frozenset(profile.panel_genes)
        return panel
    return profile.gene_panel  # None: cBioPortal's convention for whole exome/genome


def cohort_from_profiles(profiles: Sequence[PatientProfile],
                         panels: Mapping[str, frozenset[str]],
                         loc: tuple[str | int, ...] = ("body",)) -> Cohort:
    """A `Cohort` of one sample per profile (ids P0, P1, ...), panel-aware.

    `panels`: the gene panels the caller knows (the shipped reference panels at least).
    `loc`: where the profiles sit in the request, for error locations.
    """
    check_panels(profiles, panels, loc)
    recipes = load_recipes()
    ids = [f"P{i}" for i in range(len(profiles))]
    extra: dict[str, frozenset[str]] = {NOT_PROFILED: frozenset()}
    mutation_panel = [_panel_of(p, i, extra) for i, p in enumerate(profiles)]
    all_panels = {**panels, **extra}
    cna_panel = [mutation_panel[i] if p.copy_number is not None else NOT_PROFILED
                 for i, p in enumerate(profiles)]
    sv_panel = [mutation_panel[i] if p.fusions is not None else NOT_PROFILED
                for i, p in enumerate(profiles)]
    index = pd.Index(ids, name="SAMPLE_ID")
    cna = _copy_number(profiles, cna_panel, all_panels, panels, index)
    panel_matrix = pd.DataFrame({"mutations": mutation_panel, "cna": cna_panel, "sv": sv_panel},
                                index=index, dtype=object)
    measured = {"mutations"} | ({"cna"} if cna is not None else set()) | (
        {"sv"} if any(p.fusions is not None for p in profiles) else set())
    return Cohort(study_id="request",
                  patients=pd.DataFrame(index=pd.Index(ids, name="PATIENT_ID")),
                  samples=_clinical(profiles, ids, recipes), cna=cna,
                  mutations=_mutations(profiles, ids, recipes),
                  structural_variants=_fusions(profiles, ids), panel_matrix=panel_matrix,
                  panels=MappingProxyType(all_panels), source="request",
                  profiles=frozenset(measured))


def _clinical(profiles: Sequence[PatientProfile], ids: list[str],
              recipes: Recipes) -> pd.DataFrame:
    """The sample attributes, under the first column name each recipe reads."""
    clinical: dict[str, list[object]] = {
        "PATIENT_ID": ids,
        recipes.cancer_type_columns[0]: [p.cancer_type for p in profiles],
        recipes.subtype_columns[0]: [p.subtype for p in profiles],
        recipes.sex_columns[0]: [p.sex for p in profiles],
        recipes.age_columns[0]: [p.age for p in profiles],
    }
    if recipes.primary_site_columns:
        clinical[recipes.primary_site_columns[0]] = [p.primary_site for p in profiles]
    for receptor, field_name in (("HR", "hr_status"), ("HER2", "her2_status")):
        column = _status_column(recipes, receptor)
        if column is not None:
            clinical[column] = [getattr(p, field_name) for p in profiles]
    for summary in recipes.summaries:
        if summary.name in PatientProfile.model_fields:
            clinical[summary.columns[0]] = [getattr(p, summary.name) for p in profiles]
    return pd.DataFrame(clinical, index=pd.Index(ids, name="SAMPLE_ID"))


def _mutations(profiles: Sequence[PatientProfile], ids: list[str],
               recipes: Recipes) -> pd.DataFrame:
    """MAF rows; the class read from the protein change when only that is given."""
    rows = [(sid, m.gene, m.variant_classification or
             (recipes.class_of_protein_change(m.protein_change) if m.protein_change else None)
             or "Unknown", m.protein_change)
            for sid, p in zip(ids, profiles, strict=True) for m in p.mutations]
    return pd.DataFrame({
        "SAMPLE_ID": pd.Series([r[0] for r in rows], dtype=object),
        "Hugo_Symbol": pd.Series([r[1] for r in rows], dtype=object),
        "Variant_Classification": pd.Series([r[2] for r in rows], dtype=object),
        "HGVSp_Short": pd.Series([r[3] for r in rows], dtype="string"),
    })


def _copy_number(profiles: Sequence[PatientProfile], cna_panel: list[str | None],
                 all_panels: Mapping[str, frozenset[str]],
                 panels: Mapping[str, frozenset[str]], index: pd.Index) -> pd.DataFrame | None:
    """Discrete copy number over the genes of the profiled samples' panels: 0 unless called,
    NaN for a sample whose copy number was not profiled; None when none was."""
    if not any(p.copy_number is not None for p in profiles):
        return None
    genes: set[str] = set()
    for i, p in enumerate(profiles):
        if p.copy_number is None:
            continue
        panel = cna_panel[i]
        genes |= all_panels[panel] if panel is not None else frozenset().union(*panels.values())
        genes |= {c.gene for c in p.copy_number}
    columns = sorted(genes)
    position = {g: j for j, g in enumerate(columns)}
    values = np.full((len(profiles), len(columns)), np.nan, dtype=np.float32)
    for i, p in enumerate(profiles):
        if p.copy_number is None:
            continue
        values[i] = 0.0  # profiled: neutral unless called (the panel mask does the rest)
        for call in p.copy_number:
            values[i, position[call.gene]] = call.value
    return pd.DataFrame(values, index=index, columns=columns)


def _fusions(profiles: Sequence[PatientProfile], ids: list[str]) -> pd.DataFrame:
    fusions = [(sid, f.gene1, f.gene2) for sid, p in zip(ids, profiles, strict=True)
               for f in (p.fusions or [])]
    return pd.DataFrame({
        "SAMPLE_ID": pd.Series([f[0] for f in fusions], dtype=object),
        "Site1_Hugo_Symbol": pd.Series([f[1] for f in fusions], dtype="string"),
        "Site2_Hugo_Symbol": pd.Series([f[2] for f in fusions], dtype="string"),
    })


def _status_column(recipes: Recipes, receptor: str) -> str | None:
    """The clinical column of `receptor` that takes 'Positive'/'Negative' values."""
    for entry in recipes.receptors:
        if entry.name != receptor:
            continue
        for source in entry.sources:
            if source.positive.search("Positive") and source.negative.search("Negative"):
                return source.column
    return None


def profiles_from_cohort(cohort: Cohort) -> list[PatientProfile]:
    """The profile a client would send for each sample of `cohort` (for examples, tests and
    the serving benchmark): the inverse of `cohort_from_profiles` on what it can express."""
    recipes = load_recipes()
    cancer_type = cohort.clinical(recipes.cancer_type_columns)
    subtype = cohort.clinical(recipes.subtype_columns)
    site = cohort.clinical(recipes.primary_site_columns)
    sex = cohort.clinical(recipes.sex_columns)
    age = cohort.clinical(recipes.age_columns)
    summaries = {s.name: cohort.clinical(s.columns) for s in recipes.summaries
                 if s.name in PatientProfile.model_fields}
    panel = cohort.panel_matrix.get("mutations", pd.Series(dtype=object)).reindex(
        cohort.samples.index)
    # each row's class as the features read it (an unclassed indel's from its alleles, which
    # a profile does not carry): the profile says what the study's features say
    classes, _ = effective_classes(cohort.mutations, recipes.allele_length_classes)
    maf = cohort.mutations.assign(Variant_Classification=classes)
    mutations = {sid: group for sid, group in maf.groupby("SAMPLE_ID", sort=False)}
    fusions = {sid: group for sid, group in
               cohort.structural_variants.groupby("SAMPLE_ID", sort=False)}
    out = []
    for sid in cohort.samples.index:
        panel_id = panel.get(sid)
        out.append(PatientProfile.model_validate({
            "cancer_type": _text(cancer_type[sid]) or "unknown",
            # a sample without a type can only be scored with the pooled prior: say so
            "unknown_cancer_type": "refuse" if _text(cancer_type[sid]) else "pooled",
            "subtype": _text(subtype[sid]), "primary_site": _text(site[sid]),
            "sex": sex[sid] if sex[sid] in ("Female", "Male") else None,
            "age": _number(age[sid]),
            "gene_panel": None if panel_id is None or pd.isna(panel_id) else str(panel_id),
            "mutations": _mutation_dicts(mutations.get(sid)),
            "copy_number": _copy_number_calls(cohort, sid),
            "fusions": (_fusion_dicts(fusions.get(sid)) if "sv" in cohort.profiles
                        else None),
            **{name: _number(values[sid]) for name, values in summaries.items()},
        }))
    return out


def _text(value: object) -> str | None:
    return None if value is None or str(value).strip() == "" else str(value)


def _number(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _mutation_dicts(group: pd.DataFrame | None) -> list[dict[str, object]]:
    if group is None:
        return []
    out = []
    for gene, change, vc in zip(group["Hugo_Symbol"], group["HGVSp_Short"],
                                group["Variant_Classification"], strict=True):
        change = None if pd.isna(change) else str(change).removeprefix("p.")[:60]
        out.append({"gene": gene, "protein_change": change or None,
                    "variant_classification": None if pd.isna(vc) else vc})
    return out


def _copy_number_calls(cohort: Cohort, sid: str) -> list[dict[str, object]] | None:
    """The sample's non-zero calls; None when its copy number was not profiled."""
    if cohort.cna is None or sid not in cohort.cna.index:
        return None
    row = cohort.cna.loc[sid]
    if not row.notna().any():
        return None
    called = row[row.notna() & (row != 0)]
    return [{"gene": g, "value": int(np.clip(round(v), -2, 2))} for g, v in called.items()]


def _fusion_dicts(group: pd.DataFrame | None) -> list[dict[str, object]]:
    if group is None:
        return []
    return [{"gene1": a if isinstance(a, str) else b,
             "gene2": b if isinstance(a, str) and isinstance(b, str) else None}
            for a, b in zip(group["Site1_Hugo_Symbol"].astype(object),
                            group["Site2_Hugo_Symbol"].astype(object), strict=True)
            if isinstance(a, str) or isinstance(b, str)]
