"""Read and validate a cBioPortal study into one typed, immutable `Cohort`.

IO lives here and in `_tables`; everything downstream works on the `Cohort` in memory.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._archive import safe_extract
from ._errors import (
    CohortError,
    CohortWarning,
    OrganoPredictWarning,
    UnknownGeneWarning,
    excerpt,
)
from ._tables import (
    Table,
    decode_utf8,
    isin,
    read_bytes,
    read_discrete_cna,
    read_table,
    resolve_data_file,
)

__all__ = ["EMBEDDED_SOURCE", "Cohort", "load_source", "load_study"]

EMBEDDED_SOURCE = "embedded:msk_met"  # how a command line names the embedded cohort

MUTATION_COLUMNS = ("Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification")
_PROTEIN_CHANGE_ALIASES = ("HGVSp_Short", "Protein_Change", "AMINO_ACID_CHANGE", "HGVSp")
_MAF_KEEP = ("Chromosome", "Start_Position", "Variant_Type", "t_ref_count", "t_alt_count")
# what a gene symbol can look like (HGNC symbols, Entrez-style aliases); profiles use it too
GENE_SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-_/]{0,31}$"


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


# --------------------------------------------------------------------------- meta files


def parse_meta(path: Path) -> dict[str, tuple[str, int]]:
    """`key: value` lines of a meta file, each with its 1-based line number."""
    out: dict[str, tuple[str, int]] = {}
    text = decode_utf8(read_bytes(path), path.name)
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            raise CohortError(f"expected 'key: value', found {excerpt(raw)}", file=path.name,
                              line=number)
        out[key.strip()] = (value.strip(), number)
    return out


def _data_file(meta_path: Path, meta: dict[str, tuple[str, int]], root: Path) -> Path:
    """The data file a meta file names, which must resolve (symlinks too) inside `root`:
    a study never makes the tool read, or quote, a file outside itself."""
    if "data_filename" not in meta:
        raise CohortError("meta file has no 'data_filename'", file=meta_path.name)
    filename, line = meta["data_filename"]
    where = {"file": meta_path.name, "line": line, "column": "data_filename"}
    if Path(filename).is_absolute() or ".." in Path(filename).parts:
        raise CohortError(f"data file {excerpt(filename)} is outside the study folder; refused "
                          "(name a file inside it, relative to the meta file)", **where)
    found = resolve_data_file(meta_path.parent, filename)
    if found is None:
        raise CohortError(f"data file {excerpt(filename)} named here does not exist (nor "
                          f"{excerpt(filename + '.gz')})", **where)
    check_inside(root, found, meta_path.name, line)
    return found


def check_inside(root: Path, path: Path, named_in: str, line: int | None = None) -> None:
    """CohortError unless `path`, symlinks resolved, lies inside the study folder `root`."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise CohortError(f"{path.name} links outside the study folder; refused",
                          file=named_in, line=line,
                          column="data_filename" if line is not None else None)


def study_root(path: Path) -> Path:
    """The folder holding the meta files: `path` itself or one of its immediate
    sub-folders (a downloaded archive's top folder), never anything deeper."""
    if any(path.glob("meta_*.txt")):
        return path
    candidates = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("meta_*.txt")))
    if not candidates:
        raise CohortError("no meta_*.txt file here or in an immediate sub-folder: not a "
                          "cBioPortal study folder", file=str(path))
    if len(candidates) > 1:
        raise CohortError(f"{len(candidates)} sub-folders hold a study "
                          f"({', '.join(p.name for p in candidates[:5])}): name one",
                          file=str(path))
    return candidates[0]


# --------------------------------------------------------------------------- clinical files


def _clinical_types(path: Path, table: Table) -> dict[str, str]:
    """Column -> STRING/NUMBER/BOOLEAN from the 3rd leading header line, when present."""
    if table.header_line < 4:
        return {}
    lines = read_bytes(path).split(b"\n", 4)
    types = lines[2].decode("utf-8", errors="replace").lstrip("#").rstrip("\r").split("\t")
    return dict(zip(table.frame.columns, (t.strip().upper() for t in types), strict=False))


def _typed_clinical(path: Path, table: Table) -> pd.DataFrame:
    """NUMBER columns as float64. A few non-numbers among numbers are read as missing; a
    column whose values are mostly text contradicts its type line, and is kept as text:
    one wrong token must not blank a column the model reads (CANCER_TYPE). Both warn."""
    frame = table.frame
    for column, kind in _clinical_types(path, table).items():
        if kind != "NUMBER":
            continue
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna()
        if not bad.any():
            frame[column] = values.astype(np.float64)
            continue
        row = int(np.flatnonzero(bad.to_numpy())[0])
        n_bad, n_numbers = int(bad.sum()), int(values.notna().sum())
        where = f"{table.name}, line {table.line_of(row)}, column {column!r}"
        if n_bad > n_numbers:
            warnings.warn(f"{where}: declared NUMBER in the header's type line, but {n_bad} of "
                          f"{n_bad + n_numbers} values are text (first {excerpt(raw.iloc[row])}"
                          "): the type line is wrong; read as STRING", CohortWarning,
                          stacklevel=4)
            continue
        warnings.warn(f"{where}: {n_bad} non-numeric value(s) in a NUMBER column (first "
                      f"{excerpt(raw.iloc[row])}) read as missing", CohortWarning, stacklevel=4)
        frame[column] = values.astype(np.float64)
    return frame


def _check_unique(table: Table, column: str) -> None:
    dup = table.frame[column].duplicated(keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        value = table.frame[column].iloc[row]
        first = int(np.flatnonzero((table.frame[column] == value).to_numpy())[0])
        raise CohortError(f"duplicate {column} {excerpt(value)} (first seen on line "
                          f"{table.line_of(first)})", file=table.name, line=table.line_of(row),
                          column=column)


def _check_known(table: Table, column: str, known: pd.Index, what: str) -> None:
    unknown = ~isin(table.frame[column], known)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        more = int(unknown.sum()) - 1
        raise CohortError(f"{what} {excerpt(table.frame[column].iloc[row])} is not in the sample file"
                          + (f" ({more} more row(s) like it)" if more else ""),
                          file=table.name, line=table.line_of(row), column=column)


# --------------------------------------------------------------------------- genomic files


def _read_mutations(path: Path, known_samples: pd.Index) -> pd.DataFrame:
    table = read_table(path, required=MUTATION_COLUMNS)
    _check_known(table, "Tumor_Sample_Barcode", known_samples, "sample")
    frame = table.frame
    protein = next((c for c in _PROTEIN_CHANGE_ALIASES if c in frame.columns), None)
    out = pd.DataFrame({
        "SAMPLE_ID": frame["Tumor_Sample_Barcode"].astype(str),
        "Hugo_Symbol": frame["Hugo_Symbol"].astype(str),
        "Variant_Classification": frame["Variant_Classification"].fillna("Unknown").astype(str),
        "HGVSp_Short": (frame[protein] if protein else pd.Series(pd.NA, index=frame.index))
        .astype("string"),
    })
    for column in _MAF_KEEP:
        if column in frame.columns:
            out[column] = frame[column]
    return out


def _read_sv(path: Path, datatype: str, known_samples: pd.Index) -> pd.DataFrame:
    if datatype.upper() == "FUSION":
        table = read_table(path, required=("Hugo_Symbol", "Tumor_Sample_Barcode"))
        _check_known(table, "Tumor_Sample_Barcode", known_samples, "sample")
        frame = table.frame
        partner = frame["Fusion"].str.split("-", n=1).str[0] if "Fusion" in frame else None
        return pd.DataFrame({"SAMPLE_ID": frame["Tumor_Sample_Barcode"].astype(str),
                             "Site1_Hugo_Symbol": _gene_symbols(table, "Hugo_Symbol"),
                             "Site2_Hugo_Symbol": (partner if partner is not None else
                                                   pd.Series(pd.NA, index=frame.index))
                             .astype("string")})
    table = read_table(path, required=("Sample_ID",))
    frame = table.frame
    if "Site1_Hugo_Symbol" not in frame and "Site2_Hugo_Symbol" not in frame:
        raise CohortError("missing required column 'Site1_Hugo_Symbol'", file=table.name,
                          line=table.header_line, column="Site1_Hugo_Symbol")
    _check_known(table, "Sample_ID", known_samples, "sample")
    return pd.DataFrame({"SAMPLE_ID": frame["Sample_ID"].astype(str),
                         "Site1_Hugo_Symbol": _gene_symbols(table, "Site1_Hugo_Symbol"),
                         "Site2_Hugo_Symbol": _gene_symbols(table, "Site2_Hugo_Symbol")})


def _gene_symbols(table: Table, column: str) -> pd.Series:
    """A gene column of a structural-variant file as strings. A value that cannot be a gene
    symbol (free text such as "TMPRSS2 exon 2 with ERG exon 4", or HGVS text in a row shifted
    upstream) becomes missing, with a warning naming the first one's line: as a gene it could
    only be a phantom partner no panel knows."""
    if column not in table.frame:
        return pd.Series(pd.NA, index=table.frame.index, dtype="string")
    values = table.frame[column].astype("string")
    bad = (values.notna() & ~values.str.match(GENE_SYMBOL_PATTERN).fillna(False)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        warnings.warn(f"{table.name}, line {table.line_of(row)}, column {column!r}: "
                      f"{int(bad.sum())} value(s) that are not gene symbols (first "
                      f"{excerpt(values.iloc[row])}: free text, or a shifted row) read as "
                      "missing", CohortWarning, stacklevel=4)
        values = values.mask(bad)
    return values


def _read_cna(path: Path, known_samples: pd.Index) -> pd.DataFrame:
    matrix = read_discrete_cna(path)
    unknown = [s for s in matrix.samples if s not in known_samples]
    if unknown:
        more = len(unknown) - 1
        raise CohortError(f"sample {excerpt(unknown[0])} is not in the sample file"
                          + (f" ({more} more column(s) like it)" if more else ""),
                          file=path.name, line=matrix.header_line, column=unknown[0])
    genes = pd.Index(matrix.genes)
    values = matrix.values
    if genes.duplicated().any():
        keep = ~genes.duplicated(keep="first")
        warnings.warn(f"{path.name}: {int((~keep).sum())} duplicated gene row(s) "
                      f"(first {excerpt(genes[~keep][0])}); the first row of each is used",
                      CohortWarning, stacklevel=3)
        genes, values = genes[keep], values[keep]
    return pd.DataFrame(values.T, index=pd.Index(matrix.samples, name="SAMPLE_ID"),
                        columns=genes)


def _read_panel_matrix(path: Path, known_samples: pd.Index) -> pd.DataFrame:
    table = read_table(path, required=("SAMPLE_ID",))
    _check_unique(table, "SAMPLE_ID")
    _check_known(table, "SAMPLE_ID", known_samples, "sample")
    return table.frame.set_index("SAMPLE_ID")


def read_gene_panel(path: Path) -> tuple[str, frozenset[str]]:
    """One cBioPortal gene panel file: (stable_id, genes)."""
    meta = parse_meta(path)
    for key in ("stable_id", "gene_list"):
        if key not in meta:
            raise CohortError(f"gene panel file has no {key!r}", file=path.name)
    return meta["stable_id"][0], frozenset(g for g in meta["gene_list"][0].split("\t") if g)


def reference_panels() -> dict[str, frozenset[str]]:
    """Gene lists shipped with the package (MSK-IMPACT 341/410/468)."""
    folder = resources.files("organo_predict.datasets") / "msk_met_2021" / "gene_panels"
    panels: dict[str, frozenset[str]] = {}
    with resources.as_file(folder) as local:
        for path in sorted(Path(local).glob("*.txt")):
            panel_id, genes = read_gene_panel(path)
            panels[panel_id] = genes
    return panels


def _study_panels(root: Path) -> dict[str, frozenset[str]]:
    panels: dict[str, frozenset[str]] = {}
    files = list(root.glob("data_gene_panel_*.txt")) + list(root.glob("gene_panels/*.txt"))
    for path in sorted(files):
        if path.name.startswith("data_gene_panel_matrix"):
            continue
        check_inside(root, path, path.name)
        panel_id, genes = read_gene_panel(path)
        panels[panel_id] = genes
    return panels


# --------------------------------------------------------------------------- entry point


def load_study(path: str | Path) -> Cohort:
    """Read a cBioPortal study (a folder or a `.tar.gz`) into a validated `Cohort`.

    Raises CohortError naming the file, line and column of the first problem found.
    """
    path = Path(path)
    if not path.exists():
        raise CohortError("no such file or folder", file=str(path))
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="organo-study-") as tmp:
            safe_extract(path, Path(tmp))
            cohort = _load_folder(study_root(Path(tmp)))
        return _with_source(cohort, str(path))
    return _with_source(_load_folder(study_root(path)), str(path))


def load_source(source: str | Path | None) -> tuple[Cohort, list[OrganoPredictWarning]]:
    """The study at `source` (None or `EMBEDDED_SOURCE`: the embedded cohort) and the
    warnings its reader issued, for the caller to report or to judge (`validate` fails on a
    `CohortWarning`). Other libraries' warnings are shown as Python would."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if source is None or str(source) == EMBEDDED_SOURCE:
            from .datasets import msk_met

            cohort = msk_met()
        else:
            cohort = load_study(source)
    own: list[OrganoPredictWarning] = []
    for warning in caught:
        if isinstance(warning.message, OrganoPredictWarning):
            own.append(warning.message)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
    return cohort, own


def _with_source(cohort: Cohort, source: str) -> Cohort:
    return Cohort(**{**{f: getattr(cohort, f) for f in Cohort.__dataclass_fields__},
                     "source": source})


def _load_folder(root: Path) -> Cohort:
    metas: dict[str, tuple[Path, dict[str, tuple[str, int]]]] = {}
    for meta_path in sorted(root.glob("meta_*.txt")):
        check_inside(root, meta_path, meta_path.name)
        meta = parse_meta(meta_path)
        kind = meta.get("genetic_alteration_type", ("", 0))[0].upper()
        datatype = meta.get("datatype", ("", 0))[0].upper()
        key = {"PATIENT_ATTRIBUTES": "patients", "SAMPLE_ATTRIBUTES": "samples",
               "MIXED_ATTRIBUTES": "samples"}.get(datatype) if kind == "CLINICAL" else {
            "MUTATION_EXTENDED": "mutations", "COPY_NUMBER_ALTERATION": "cna",
            "STRUCTURAL_VARIANT": "sv", "FUSION": "sv", "GENE_PANEL_MATRIX": "panel_matrix",
        }.get(kind)
        if kind == "COPY_NUMBER_ALTERATION" and datatype != "DISCRETE":
            key = None
        if meta_path.name == "meta_study.txt":
            key = "study"
        if key is not None and key not in metas:
            metas[key] = (meta_path, meta)
    if "samples" not in metas:
        raise CohortError("missing meta file for the clinical sample data "
                          "(meta_clinical_sample.txt with datatype: SAMPLE_ATTRIBUTES)",
                          file=str(root))
    digest = hashlib.blake2b(digest_size=16)

    def data(key: str) -> Path | None:
        if key not in metas:
            return None
        found = _data_file(*metas[key], root)
        digest.update(found.name.encode())
        digest.update(read_bytes(found))
        return found

    sample_path = data("samples")
    assert sample_path is not None
    sample_table = read_table(sample_path, required=("PATIENT_ID", "SAMPLE_ID"))
    _check_unique(sample_table, "SAMPLE_ID")
    samples = _typed_clinical(sample_path, sample_table)
    missing_pid = samples["PATIENT_ID"].isna().to_numpy()
    if missing_pid.any():
        row = int(np.flatnonzero(missing_pid)[0])
        raise CohortError("empty PATIENT_ID", file=sample_table.name,
                          line=sample_table.line_of(row), column="PATIENT_ID")
    samples = samples.set_index("SAMPLE_ID")
    known = samples.index

    patient_path = data("patients")
    if patient_path is not None:
        patient_table = read_table(patient_path, required=("PATIENT_ID",))
        _check_unique(patient_table, "PATIENT_ID")
        patients = _typed_clinical(patient_path, patient_table).set_index("PATIENT_ID")
        orphan = ~isin(samples["PATIENT_ID"], patients.index)
        if orphan.any():
            row = int(np.flatnonzero(orphan)[0])
            raise CohortError(f"patient {excerpt(samples['PATIENT_ID'].iloc[row])} is not in "
                              f"{patient_table.name}", file=sample_table.name,
                              line=sample_table.line_of(row), column="PATIENT_ID")
    else:
        patients = pd.DataFrame(index=pd.Index(samples["PATIENT_ID"].unique(), name="PATIENT_ID"))

    mut_path = data("mutations")
    mutations = (_read_mutations(mut_path, known) if mut_path is not None else
                 pd.DataFrame({c: pd.Series(dtype=str) for c in
                               ("SAMPLE_ID", "Hugo_Symbol", "Variant_Classification")}
                              | {"HGVSp_Short": pd.Series(dtype="string")}))
    cna_path = data("cna")
    cna = _read_cna(cna_path, known) if cna_path is not None else None
    sv_path = data("sv")
    sv = (_read_sv(sv_path, metas["sv"][1].get("datatype", ("SV", 0))[0], known)
          if sv_path is not None else
          pd.DataFrame({"SAMPLE_ID": pd.Series(dtype=str),
                        "Site1_Hugo_Symbol": pd.Series(dtype="string"),
                        "Site2_Hugo_Symbol": pd.Series(dtype="string")}))
    panel_path = data("panel_matrix")
    if panel_path is not None:
        panel_matrix = _read_panel_matrix(panel_path, known)
    elif "GENE_PANEL" in samples.columns:
        panel_matrix = pd.DataFrame({"mutations": samples["GENE_PANEL"]}, index=known)
    else:
        panel_matrix = pd.DataFrame({"mutations": pd.Series(pd.NA, index=known, dtype="string")})

    panels = {**reference_panels(), **_study_panels(root)}
    _warn_undefined_panels(panel_matrix, panels)
    _warn_unknown_genes(mutations, cna, panels)
    if "study" not in metas:
        warnings.warn(f"{root.name}: no meta_study.txt: the study has no identifier, name or "
                      "cancer type; the folder name is used as its id", CohortWarning,
                      stacklevel=3)
    study_meta = {k: v for k, (v, _) in metas["study"][1].items()} if "study" in metas else {}
    return Cohort(
        study_id=study_meta.get("cancer_study_identifier", root.name),
        patients=patients,
        samples=samples,
        mutations=mutations,
        cna=cna,
        structural_variants=sv,
        panel_matrix=panel_matrix,
        panels=MappingProxyType(panels),
        meta=MappingProxyType(study_meta),
        fingerprint=digest.hexdigest(),
        source=str(root),
        profiles=frozenset(name for name, present in
                           (("mutations", mut_path), ("cna", cna_path), ("sv", sv_path))
                           if present is not None),
    )


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
