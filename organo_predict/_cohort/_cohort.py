"""Read and validate a cBioPortal study into one typed, immutable `Cohort`.

The cohort stage's IO: files are read here and by the readers it calls (`_tables`, `_readers`,
`_study`, `_archive`; `_download` fetches a study); everything downstream works on the
`Cohort` in memory.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from .._base._errors import (
    CohortError,
    CohortWarning,
    OrganoPredictWarning,
    UnknownGeneWarning,
    excerpt,
)
from ._archive import safe_extract
from ._readers import (
    check_unique,
    read_cna,
    read_mutations,
    read_panel_matrix,
    read_sv,
    typed_clinical,
)
from ._study import (
    MetaFile,
    data_file,
    meta_files,
    read_panel_file,
    reference_panels,
    study_panels,
    study_root,
)
from ._tables import Table, isin, read_bytes, read_table

__all__ = ["Cohort", "load_columnar", "load_study",
           "save_columnar"]




@dataclass(frozen=True, slots=True, eq=False)
class Cohort:
    """A validated cBioPortal study held in memory.

    Attributes:
        study_id: `cancer_study_identifier` from meta_study.txt (or the folder name).
        patients: one row per patient, indexed by PATIENT_ID; NUMBER columns are float.
        samples: one row per sample, indexed by SAMPLE_ID, with a PATIENT_ID column.
        mutations: MAF rows: SAMPLE_ID, Hugo_Symbol, Variant_Classification, HGVSp_Short, ...
        cna: discrete copy number, samples x genes float32, NaN where not profiled (None when
            the study has no CNA profile).
        structural_variants: SAMPLE_ID, Site1_Hugo_Symbol, Site2_Hugo_Symbol.
        panel_matrix: panel id per sample and profile (columns such as `mutations`, `cna`).
        panels: gene list of each panel id the study or the package defines.
        meta: key/values of meta_study.txt.
        profiles: which genomic profiles the study has ("mutations", "cna", "sv"): an absent
            profile means "not measured", never "no alteration".
        fingerprint: content hash of the data files, to tag experiments with.

    The frames are shared, not copied: treat them as read-only.
    """

    study_id: str
    patients: pd.DataFrame
    samples: pd.DataFrame
    mutations: pd.DataFrame
    cna: pd.DataFrame | None
    structural_variants: pd.DataFrame
    panel_matrix: pd.DataFrame
    panels: Mapping[str, frozenset[str]]
    meta: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    fingerprint: str = ""
    source: str = ""
    profiles: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return (f"Cohort({self.study_id!r}: {len(self.patients)} patients, {len(self.samples)} "
                f"samples, {len(self.mutations)} mutations, "
                f"{0 if self.cna is None else self.cna.shape[1]} CNA genes, "
                f"{len(self.structural_variants)} SVs, panels={sorted(self.panels)})")

    def clinical(self, names: Sequence[str]) -> pd.Series:
        """The first of `names` found among the sample attributes, else the patient
        attributes, as one object value per sample (None where missing, or when no column
        of that name exists)."""
        found = next((self.samples[n] for n in names if n in self.samples.columns), None)
        if found is None:
            found = next((self.patients[n] for n in names if n in self.patients.columns), None)
            if found is not None:
                found = self.samples["PATIENT_ID"].map(found)
        if found is None:
            return pd.Series(np.full(len(self.samples), None, dtype=object),
                             index=self.samples.index, dtype=object)
        # NumPy's object conversion with None for missing: pandas' where() costs ~0.3 ms
        return pd.Series(found.to_numpy(dtype=object, na_value=None), index=found.index,
                         dtype=object, copy=False)

    def panel_ids(self, samples: pd.Index, profile: str) -> pd.Series:
        """Panel id per sample for one profile ("mutations", "cna", "sv"), falling back to
        the mutation panel, then to GENE_PANEL; None where unknown."""
        matrix = self.panel_matrix
        for column in {"cna": ("cna", "gistic"),
                       "sv": ("structural_variants", "sv", "fusion")}.get(
                profile, ()) + ("mutations",):
            if column in matrix.columns:
                return matrix[column].reindex(samples).astype(object)
        if "GENE_PANEL" in self.samples.columns:
            return self.samples["GENE_PANEL"].reindex(samples).astype(object)
        return pd.Series([None] * len(samples), index=samples, dtype=object)

    def panel_ids_used(self) -> set[str]:
        """Every panel id any sample names, for any profile."""
        used: set[str] = set()
        for column in self.panel_matrix.columns:
            used |= set(self.panel_matrix[column].dropna().astype(str))
        if "GENE_PANEL" in self.samples.columns:
            used |= set(self.samples["GENE_PANEL"].dropna().astype(str))
        return used

    def subset(self, sample_ids: pd.Index | list[str]) -> Cohort:
        """A cohort restricted to `sample_ids` (and their patients)."""
        ids = pd.Index(sample_ids)
        samples = self.samples.loc[self.samples.index.intersection(ids, sort=False)]
        keep_mut = isin(self.mutations["SAMPLE_ID"], samples.index)
        keep_sv = isin(self.structural_variants["SAMPLE_ID"], samples.index)
        return Cohort(
            study_id=self.study_id,
            patients=self.patients.loc[isin(self.patients.index, samples["PATIENT_ID"])],
            samples=samples,
            mutations=self.mutations.loc[keep_mut].reset_index(drop=True),
            cna=None if self.cna is None else self.cna.loc[isin(self.cna.index, samples.index)],
            structural_variants=self.structural_variants.loc[keep_sv].reset_index(drop=True),
            panel_matrix=self.panel_matrix.loc[isin(self.panel_matrix.index, samples.index)],
            panels=self.panels,
            meta=self.meta,
            fingerprint=self.fingerprint,
            source=self.source,
            profiles=self.profiles,
        )


# --------------------------------------------------------------------------- entry point


def load_study(path: str | Path, panels: Mapping[str, str | Path] | None = None) -> Cohort:
    """Read a cBioPortal study (a folder or a `.tar.gz`) into a validated `Cohort`.

    `panels` (panel id -> file) gives the gene lists of panels the study names but does not
    define (a cBioPortal gene-panel file, or one gene per line); they take precedence.
    Raises CohortError naming the file, line and column of the first problem found.
    """
    path = Path(path)
    extra = {name: read_panel_file(Path(file)) for name, file in (panels or {}).items()}
    if not path.exists():
        raise CohortError("no such file or folder", file=str(path))
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="organo-study-") as tmp:
            safe_extract(path, Path(tmp))
            cohort = _load_folder(study_root(Path(tmp), named=path.name), extra)
        return _with_source(cohort, str(path))
    return _with_source(_load_folder(study_root(path), extra), str(path))


_FRAMES = ("patients", "samples", "mutations", "cna", "structural_variants", "panel_matrix")
_WARNINGS = {cls.__name__: cls for cls in (OrganoPredictWarning, CohortWarning,
                                           UnknownGeneWarning)}


def save_columnar(cohort: Cohort, folder: Path,
                  issued: Sequence[warnings.WarningMessage] = ()) -> None:
    """`cohort` as Parquet frames and a JSON of the rest (the warnings its reading issued
    too), in `folder`: what `load_columnar` reads back, equal frame for frame, ~6x faster
    than parsing the study again."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    for name in _FRAMES:
        frame = getattr(cohort, name)
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet")
    rest = {"study_id": cohort.study_id, "fingerprint": cohort.fingerprint,
            "source": cohort.source, "profiles": sorted(cohort.profiles),
            "meta": dict(cohort.meta), "has_cna": cohort.cna is not None,
            "panels": {k: sorted(v) for k, v in cohort.panels.items()},
            "warnings": [[type(w.message).__name__, str(w.message)] for w in issued
                         if type(w.message).__name__ in _WARNINGS]}
    (folder / "cohort.json").write_text(json.dumps(rest))


def load_columnar(folder: Path) -> Cohort:
    """The cohort `save_columnar` wrote, its reader's warnings issued again."""
    import json

    rest = json.loads((folder / "cohort.json").read_text())
    frames = {name: pd.read_parquet(folder / f"{name}.parquet")
              for name in _FRAMES if name != "cna" or rest["has_cna"]}
    for category, message in rest["warnings"]:
        warnings.warn(message, _WARNINGS[category], stacklevel=3)
    return Cohort(study_id=rest["study_id"], cna=frames.pop("cna", None), **frames,
                  panels=MappingProxyType({k: frozenset(v) for k, v in rest["panels"].items()}),
                  meta=MappingProxyType(rest["meta"]), fingerprint=rest["fingerprint"],
                  source=rest["source"], profiles=frozenset(rest["profiles"]))


def _with_source(cohort: Cohort, source: str) -> Cohort:
    return Cohort(**{**{f: getattr(cohort, f) for f in Cohort.__dataclass_fields__},
                     "source": source})


def _load_folder(root: Path, extra_panels: Mapping[str, frozenset[str]]) -> Cohort:
    """Read and check every file of the study at `root`, in dependency order: samples,
    patients, genomic profiles, panels."""
    metas = meta_files(root)
    files = _Files(root, metas)
    samples, sample_table = _read_samples(files.path("samples"))
    patients = _read_patients(files.path("patients"), samples, sample_table)
    known = samples.index
    mut_path, cna_path, sv_path = files.path("mutations"), files.path("cna"), files.path("sv")
    mutations = read_mutations(mut_path, known) if mut_path is not None else _empty_mutations()
    cna = read_cna(cna_path, known) if cna_path is not None else None
    sv = (read_sv(sv_path, metas["sv"][1].get("datatype", ("SV", 0))[0], known)
          if sv_path is not None else _empty_svs())
    panel_matrix = _panel_matrix(files.path("panel_matrix"), samples)
    panels = {**reference_panels(), **study_panels(root), **extra_panels}
    _warn_undefined_panels(panel_matrix, panels)
    _warn_unknown_genes(mutations, cna, panels)
    if "study" not in metas:
        warnings.warn(f"{root.name}: no meta_study.txt: the study has no identifier, name or "
                      "cancer type; the folder name is used as its id", CohortWarning,
                      stacklevel=3)
    study_meta = {k: v for k, (v, _) in metas["study"][1].items()} if "study" in metas else {}
    return Cohort(
        study_id=study_meta.get("cancer_study_identifier", root.name),
        patients=patients, samples=samples, mutations=mutations, cna=cna,
        structural_variants=sv, panel_matrix=panel_matrix,
        panels=MappingProxyType(panels), meta=MappingProxyType(study_meta),
        fingerprint=files.digest.hexdigest(), source=str(root),
        profiles=frozenset(name for name, present in
                           (("mutations", mut_path), ("cna", cna_path), ("sv", sv_path))
                           if present is not None))


class _Files:
    """The data files of a study by kind, hashed as they are found (the fingerprint)."""

    def __init__(self, root: Path, metas: dict[str, MetaFile]) -> None:
        self.root, self.metas = root, metas
        self.digest = hashlib.blake2b(digest_size=16)

    def path(self, key: str) -> Path | None:
        if key not in self.metas:
            return None
        found = data_file(*self.metas[key], self.root)
        self.digest.update(found.name.encode())
        self.digest.update(read_bytes(found))
        return found


def _empty_mutations() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in
                         ("SAMPLE_ID", "Hugo_Symbol", "Variant_Classification")}
                        | {"HGVSp_Short": pd.Series(dtype="string")})


def _empty_svs() -> pd.DataFrame:
    return pd.DataFrame({"SAMPLE_ID": pd.Series(dtype=str),
                         "Site1_Hugo_Symbol": pd.Series(dtype="string"),
                         "Site2_Hugo_Symbol": pd.Series(dtype="string")})


def _read_samples(path: Path | None) -> tuple[pd.DataFrame, Table]:
    """The sample attributes indexed by SAMPLE_ID (unique, each with a PATIENT_ID)."""
    assert path is not None  # meta_files() refuses a study without them
    # CANCER_TYPE: without it every sample is an unknown type (the prior, the
    # mechanisms and the within-type evaluation all read it)
    table = read_table(path, required=("PATIENT_ID", "SAMPLE_ID", "CANCER_TYPE"))
    check_unique(table, "SAMPLE_ID")
    samples = typed_clinical(path, table)
    missing_pid = samples["PATIENT_ID"].isna().to_numpy()
    if missing_pid.any():
        row = int(np.flatnonzero(missing_pid)[0])
        raise CohortError("empty PATIENT_ID", file=table.name, line=table.line_of(row),
                          column="PATIENT_ID")
    return samples.set_index("SAMPLE_ID"), table


def _read_patients(path: Path | None, samples: pd.DataFrame,
                   sample_table: Table) -> pd.DataFrame:
    """The patient attributes indexed by PATIENT_ID; every sample's patient must be there.
    Without a patient file: the samples' patients, with no attribute."""
    if path is None:
        return pd.DataFrame(index=pd.Index(samples["PATIENT_ID"].unique(), name="PATIENT_ID"))
    table = read_table(path, required=("PATIENT_ID",))
    check_unique(table, "PATIENT_ID")
    patients = typed_clinical(path, table).set_index("PATIENT_ID")
    orphan = ~isin(samples["PATIENT_ID"], patients.index)
    if orphan.any():
        row = int(np.flatnonzero(orphan)[0])
        raise CohortError(f"patient {excerpt(samples['PATIENT_ID'].iloc[row])} is not in "
                          f"{table.name}", file=sample_table.name,
                          line=sample_table.line_of(row), column="PATIENT_ID")
    return patients


def _panel_matrix(path: Path | None, samples: pd.DataFrame) -> pd.DataFrame:
    """Panel id per sample and profile: the panel matrix file, else the samples'
    GENE_PANEL column, else unknown."""
    if path is not None:
        return read_panel_matrix(path, samples.index)
    if "GENE_PANEL" in samples.columns:
        return pd.DataFrame({"mutations": samples["GENE_PANEL"]}, index=samples.index)
    return pd.DataFrame({"mutations": pd.Series(pd.NA, index=samples.index, dtype="string")})


def _warn_undefined_panels(panel_matrix: pd.DataFrame,
                           panels: Mapping[str, frozenset[str]]) -> None:
    """Warn once per panel id that samples name but no gene-panel file defines: its genes
    can only be guessed from the mutations seen (an unseen gene then reads as 'not
    profiled' rather than 'wild-type', or the reverse)."""
    used = pd.unique(panel_matrix.to_numpy().ravel())
    for panel in sorted(str(p) for p in used if isinstance(p, str) and p not in panels):
        n = int((panel_matrix == panel).any(axis=1).sum())
        warnings.warn(f"gene panel {excerpt(panel)} ({n} sample(s)) has no gene list in the "
                      "study (gene_panels/*.txt) nor in the package: its genes will be inferred "
                      "from the mutations seen on it; add its gene-panel file", CohortWarning,
                      stacklevel=4)


def _warn_unknown_genes(mutations: pd.DataFrame, cna: pd.DataFrame | None,
                        panels: Mapping[str, frozenset[str]]) -> None:
    known = frozenset().union(*panels.values()) if panels else frozenset()
    seen = set(mutations["Hugo_Symbol"].unique())
    if cna is not None:
        seen |= set(cna.columns)
    unknown = sorted(g for g in seen - known if isinstance(g, str))
    if known and unknown:
        warnings.warn(f"{len(unknown)} gene symbol(s) are on no known panel, kept as given "
                      f"(e.g. {', '.join(unknown[:8])})", UnknownGeneWarning, stacklevel=3)
