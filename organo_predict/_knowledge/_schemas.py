"""Strict schemas of every TOML the project reads: the experiment configuration and the domain
knowledge under features/. An unknown key is refused naming the file, the section and the
key, with the closest known key when one is near; types and ranges are checked; a mechanism
names a known organ. Pure validation: the modules that read these files build from the
checked data."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from .._base._errors import ConfigError, FeatureError, OrganoPredictError, did_you_mean
from .._cohort._organs import ORGANS

__all__ = ["CancerTypes", "Dosage", "Experiment", "GeneSets", "Leakage", "Markers", "Mechanisms", "Spectrum",
           "feature_error", "validate"]



def _one_of(known: tuple[str, ...], what: str):  # noqa: ANN202 - a pydantic validator
    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"unknown {what} {value!r}{did_you_mean(value, known)}")
        return value
    return check


Organ = Annotated[str, AfterValidator(_one_of(ORGANS, "organ"))]
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Cited(_Strict):
    rationale: Text
    citation: Text


# ------------------------------------------------------------------ experiment TOML

class _Cohort(_Strict):
    source: Text = "embedded:msk_met"
    population: Literal["metastatic", "all_labelled"] = "metastatic"
    panels: dict[str, Text] = {}  # panel id -> its gene list (a panel the study lacks)


class _Population(_Strict):
    column: Text  # a sample (or patient) column of the study
    values: list[str] = Field(min_length=1)  # keep the rows whose value is one of these


class _Features(_Strict):
    min_carriers: int = Field(10, ge=1)
    extra_clinical: list[str] = []


class _Leakage(_Strict):
    allow: list[str] = []
    on_refusal: Literal["error", "drop"] = "error"
    unprofiled: Literal["absent", "learned"] | None = None


class _Model(_Strict):
    organs: list[Organ] | None = None
    use_prior: bool | None = None
    n_estimators: int | None = Field(None, ge=1, le=100_000)
    learning_rate: float | None = Field(None, gt=0, le=1)
    num_leaves: int | None = Field(None, ge=2, le=4096)
    max_depth: int | None = Field(None, ge=-1, le=64)
    min_child_samples: int | None = Field(None, ge=1)
    feature_fraction: float | None = Field(None, gt=0, le=1)
    bagging_fraction: float | None = Field(None, gt=0, le=1)
    reg_lambda: float | None = Field(None, ge=0)
    cat_smooth: float | None = Field(None, ge=0)
    early_stopping_rounds: int | None = Field(None, ge=0)
    valid_fraction: float | None = Field(None, gt=0, lt=1)
    min_positives: int | None = Field(None, ge=1)
    prior_strength: float | None = Field(None, ge=0)
    type_interactions: int | None = Field(None, ge=0)
    n_jobs: int | None = Field(None, ge=1)


class _Evaluation(_Strict):
    n_splits: int = Field(5, ge=2, le=50)
    n_bootstrap: int = Field(300, ge=1, le=100_000)  # 0 failed only after the training
    seed: int = Field(0, ge=0, le=2**32 - 1)  # what numpy takes; -5 failed after the training


class _Mlflow(_Strict):
    experiment: Text = "organotropism"
    registered_model: Text = "organotropism"


class _Labels(BaseModel):
    """Organ -> the study's column holding its flag (Yes/No, 1/0 or true/false)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    def organ_columns(self) -> dict[str, str]:
        return dict(self.model_extra or {})


class Experiment(_Strict):
    name: Text | None = None
    description: str = ""
    cohort: _Cohort = _Cohort()
    population: _Population | None = None
    labels: _Labels = _Labels()
    features: _Features = _Features()
    leakage: _Leakage = _Leakage()
    model: _Model = _Model()
    evaluation: _Evaluation = _Evaluation()
    mlflow: _Mlflow = _Mlflow()


# ------------------------------------------------------------------ features/*.toml

class _NoncodingExceptions(BaseModel):
    """rationale, citation, and GENE = [alterations] pairs."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    rationale: Text
    citation: Text


class _MutationClasses(_Cited):
    not_protein_altering: list[str]
    truncating: list[str]
    missense: list[str]
    known_other: list[str]
    noncoding_exceptions: _NoncodingExceptions


class _Genes(_Cited):
    genes: list[str]


class _Hotspot(_Cited):
    gene: Text
    name: Text
    pattern: Text


class _ReceptorSource(_Strict):
    column: Text
    positive: Text
    negative: Text


class _Receptor(_Cited):
    name: Text
    applies_to: list[str] = []
    source: list[_ReceptorSource] = Field(min_length=1)


class _Summary(_Cited):
    name: Text
    columns: list[str] = Field(min_length=1)
    when_missing: Literal["cancer_type_median", "learned"] = "learned"


class _Clinical(_Cited):
    cancer_type_columns: list[str]
    subtype_columns: list[str]
    sex_columns: list[str]
    female: list[str]
    male: list[str]
    age_columns: list[str]
    primary_site_columns: list[str] = []
    primary_site_min_count: int = Field(30, ge=1)  # _recipes' default, when absent
    primary_site_citation: str = ""


class _TmbFallback(_Cited):
    mb_per_gene: float = Field(gt=0)
    exome_mb: float = Field(gt=0)


class _ProteinChangeClasses(_Cited):
    rules: list[Annotated[list[str], Field(min_length=2, max_length=2)]]


class _AlleleLengthClasses(_Cited):
    """The MAF classes an indel's allele lengths imply, for rows whose class is `unknown`."""

    unknown: list[str]
    frameshift_deletion: Text
    frameshift_insertion: Text
    in_frame_deletion: Text
    in_frame_insertion: Text


class Spectrum(_Cited):
    """markers.toml [spectrum]: the substitution spectrum (`_mutation_signals`)."""

    enabled: bool
    min_substitutions: int = Field(ge=1)


class Dosage(_Cited):
    """markers.toml [dosage]: drivers' mutant dosage (`_mutation_signals`)."""

    enabled: bool
    genes: list[str]
    purity_columns: list[str]
    min_depth: int = Field(ge=1)
    alpha: float = Field(gt=0, lt=1)


class Markers(_Strict):
    version: Text
    mutation_classes: _MutationClasses
    tumor_suppressors: _Genes
    core: _Genes
    hotspot: list[_Hotspot] = []
    receptor: list[_Receptor] = []
    summary: list[_Summary] = []
    clinical: _Clinical
    tmb_fallback: _TmbFallback
    protein_change_classes: _ProteinChangeClasses | None = None
    allele_length_classes: _AlleleLengthClasses | None = None
    spectrum: Spectrum | None = None
    dosage: Dosage | None = None


class _GeneSet(_Cited):
    name: Text
    oncogenes: list[str] = []
    tumor_suppressors: list[str] = []


class GeneSets(_Strict):
    version: Text
    citation: Text
    gene_set: list[_GeneSet] = Field(min_length=1)


class _Denylist(_Strict):
    columns: list[str] = []
    prefixes: list[str] = []
    patterns: list[str] = []


class _Unprofiled(_Cited):
    read_as: Literal["absent", "learned"]


class _Audit(_Strict):
    missing_odds_ratio: float = Field(gt=1)
    min_group: int = Field(ge=1)
    min_group_fraction: float = Field(ge=0, le=1)
    separation_auroc: float = Field(gt=0.5, le=1)
    implies_rate: float = Field(gt=0.5, le=1)
    implies_prevalence: float = Field(gt=0, le=1)


class Leakage(_Cited):
    version: Text
    denylist: _Denylist
    unprofiled: _Unprofiled | None = None
    audit: _Audit


class _Mechanism(_Strict):
    id: Text
    marker: Text
    alteration: Text  # one of _feature_names.MECHANISM_ALTERATIONS (each kind says its own)
    organ: Organ
    direction: Literal["up", "down"]
    cancer_types: list[str] = Field(min_length=1)
    subtypes: list[str] = []
    condition: str | None = None
    evidence: Literal["genomic", "clinical", "expression"]
    mechanism: Text
    citation: Text


class Mechanisms(_Cited):
    version: Text = "unversioned"
    mechanism: list[_Mechanism] = Field(min_length=1)


class _CancerType(_Strict):
    name: Text
    codes: list[Text] = Field(default_factory=list)
    names: list[Text] = Field(default_factory=list)


class CancerTypes(_Cited):
    version: Text = "unversioned"
    type: list[_CancerType] = Field(min_length=1)


def validate(schema: type[BaseModel], data: dict[str, Any], file: str,
             error: type[OrganoPredictError] = ConfigError) -> BaseModel:
    """`data` checked against `schema`; the first problem as `error`, naming the file, the
    section ([model], [[hotspot]] 3) and the key, with a "did you mean" for a near miss."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise error(_describe(schema, data, first, file)) from None


def _describe(schema: type[BaseModel], data: dict[str, Any], err: dict[str, Any],
              file: str) -> str:
    loc = [part for part in err["loc"] if not (isinstance(part, str) and "[" in part)]
    section, key = _section(data, loc[:-1]), repr(loc[-1]) if loc else "''"
    if len(loc) >= 2 and isinstance(loc[-1], int) and isinstance(loc[-2], str):
        section, key = _section(data, loc[:-2]), f"{loc[-2]!r}, item {loc[-1] + 1}"
    where = f"{file}" + (f", {section}" if section else "")
    kind = err["type"]
    if kind == "extra_forbidden":
        return (f"{where}: unknown key {key}"
                f"{did_you_mean(str(loc[-1]), _fields_at(schema, loc[:-1]))}")
    if kind == "missing":
        return f"{where}: key {key} is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}, key {key}: {message} (got {err.get('input')!r})"


def _section(data: dict[str, Any], path: list[Any]) -> str:
    """[model], [labels], [[hotspot]] 3 (KRAS G12C): how a TOML reader finds the place."""
    if not path:
        return ""
    names: list[str] = []
    node: Any = data
    out = ""
    for part in path:
        if isinstance(part, int):
            entry = node[part] if isinstance(node, list) and part < len(node) else {}
            label = " ".join(str(entry[k]) for k in ("id", "gene", "name") if
                             isinstance(entry, dict) and k in entry)
            out = f"[[{'.'.join(names)}]] {part + 1}" + (f" ({label})" if label else "")
            node = entry
        else:
            names.append(str(part))
            out = f"[{'.'.join(names)}]"
            node = node.get(part, {}) if isinstance(node, dict) else {}
    return out


def _fields_at(schema: type[BaseModel], path: list[Any]) -> set[str]:
    """The keys the schema knows at `path` (for "did you mean")."""
    current: type[BaseModel] | None = schema
    for part in path:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(str(part))
        current = _model_in(field.annotation) if field else None
    return set(current.model_fields) if current else set()


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def feature_error(schema: type[BaseModel], data: dict[str, Any], file: str) -> BaseModel:
    """`validate` for the shipped domain knowledge: problems are FeatureErrors."""
    return validate(schema, data, file, FeatureError)
