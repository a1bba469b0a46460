"""Where a study's files are: its root folder, its meta files, the data files they name
(confined to the study: a study never makes the tool read, or quote, a file outside itself),
and the gene panels it or the package defines."""

from __future__ import annotations

import re
import warnings
from importlib import resources
from pathlib import Path

from .._base._errors import CohortError, OrganoPredictWarning, excerpt
from ._tables import decode_utf8, read_bytes, resolve_data_file

__all__ = ["MetaFile", "check_inside", "data_file", "meta_files", "parse_meta",
           "read_gene_panel", "reference_panels", "study_panels", "study_root"]

Meta = dict[str, tuple[str, int]]  # key -> (value, line)
MetaFile = tuple[Path, Meta]

_CLINICAL_KINDS = {"PATIENT_ATTRIBUTES": "patients", "SAMPLE_ATTRIBUTES": "samples",
                   "MIXED_ATTRIBUTES": "samples"}
_GENOMIC_KINDS = {"MUTATION_EXTENDED": "mutations", "COPY_NUMBER_ALTERATION": "cna",
                  "STRUCTURAL_VARIANT": "sv", "FUSION": "sv",
                  "GENE_PANEL_MATRIX": "panel_matrix"}


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


def data_file(meta_path: Path, meta: dict[str, tuple[str, int]], root: Path) -> Path:
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


def study_root(path: Path, named: str | None = None) -> Path:
    """The folder holding the meta files: `path` itself or one of its immediate
    sub-folders (a downloaded archive's top folder), never anything deeper. `named` is
    what errors call it (the archive it was unpacked from, not a temporary folder)."""
    where = named or str(path)
    here = "in the archive's top folder" if named else "here"
    if any(path.glob("meta_*.txt")):
        return path
    candidates = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("meta_*.txt")))
    if not candidates:
        raise CohortError(f"no meta_*.txt file {here} or in an immediate sub-folder: not a "
                          "cBioPortal study", file=where)
    if len(candidates) > 1:
        raise CohortError(f"{len(candidates)} sub-folders hold a study "
                          f"({', '.join(p.name for p in candidates[:5])}): name one",
                          file=where)
    return candidates[0]




# The stable_id cBioPortal gives a kind's main profile (its validator requires
# "mutations" for a MAF; "mutations_uncalled" is the uncalled calls' profile).
_MAIN_PROFILE_IDS = {"mutations": ("mutations",),
                     "cna": ("gistic", "cna", "cna_rae", "cna_consensus"),
                     "sv": ("structural_variants",)}


def meta_files(root: Path) -> dict[str, MetaFile]:
    """The study's meta files by what they describe ("study", "patients", "samples",
    "mutations", "cna" (discrete only), "sv", "panel_matrix"). A kind with several
    profiles is read as cBioPortal shows it: the profile whose stable_id is the kind's main
    one (the others are named in a warning); when that does not single one out, the study
    is refused, naming the files. A study without sample attributes is refused."""
    found: dict[str, list[MetaFile]] = {}
    for meta_path in sorted(root.glob("meta_*.txt")):
        check_inside(root, meta_path, meta_path.name)
        meta = parse_meta(meta_path)
        kind = meta.get("genetic_alteration_type", ("", 0))[0].upper()
        datatype = meta.get("datatype", ("", 0))[0].upper()
        key = (_CLINICAL_KINDS.get(datatype) if kind == "CLINICAL"
               else _GENOMIC_KINDS.get(kind))
        if kind == "COPY_NUMBER_ALTERATION" and datatype != "DISCRETE":
            key = None
        if meta_path.name == "meta_study.txt":
            key = "study"
        if key is not None:
            found.setdefault(key, []).append((meta_path, meta))
    metas = {key: _one_profile(key, files) for key, files in found.items()}
    if "samples" not in metas:
        raise CohortError("missing meta file for the clinical sample data "
                          "(meta_clinical_sample.txt with datatype: SAMPLE_ATTRIBUTES)",
                          file=str(root))
    return metas


def _one_profile(key: str, files: list[MetaFile]) -> MetaFile:
    """The one meta file of a kind that the study is read with (see `meta_files`)."""
    if len(files) == 1:
        return files[0]
    names = ", ".join(path.name for path, _ in files)
    main_ids = _MAIN_PROFILE_IDS.get(key, ())
    main = [(path, meta) for path, meta in files
            if meta.get("stable_id", ("", 0))[0].lower() in main_ids]
    if len(main) != 1:
        wanted = (f"exactly one with stable_id {' or '.join(repr(i) for i in main_ids)}"
                  if main_ids else "one")
        raise CohortError(f"{len(files)} meta files describe the study's {key} ({names}); "
                          f"keep {wanted}, or move the others out of the study folder",
                          file=files[0][0].name)
    ignored = ", ".join(f"{path.name} (stable_id {meta.get('stable_id', ('none', 0))[0]!r})"
                        for path, meta in files if path != main[0][0])
    warnings.warn(f"{main[0][0].name}: the study has several {key} profiles; read as "
                  f"cBioPortal shows it, with the main one (stable_id "
                  f"{main[0][1]['stable_id'][0]!r}); not read: {ignored}",
                  OrganoPredictWarning, stacklevel=3)
    return main[0]


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


def read_panel_file(path: Path) -> frozenset[str]:
    """The genes of a panel the user supplies: a cBioPortal gene-panel file (`gene_list:`
    with tab-separated symbols), or one gene symbol per line (blank lines and `#` comments
    skipped). A line that is not a gene symbol is an error naming the file and line."""
    from ._readers import GENE_SYMBOL_PATTERN

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CohortError(f"cannot read the gene panel ({exc})", file=str(path)) from None
    if any(line.startswith("gene_list:") for line in text.splitlines()):
        return read_gene_panel(path)[1]
    genes = set()
    for number, line in enumerate(text.splitlines(), start=1):
        symbol = line.split("#", 1)[0].strip()
        if not symbol:
            continue
        if re.match(GENE_SYMBOL_PATTERN, symbol) is None:
            raise CohortError(f"not a gene symbol: {excerpt(symbol)} (one gene per line, or a "
                              "cBioPortal gene-panel file)", file=str(path), line=number)
        genes.add(symbol)
    if not genes:
        raise CohortError("the gene panel lists no gene", file=str(path))
    return frozenset(genes)


def study_panels(root: Path) -> dict[str, frozenset[str]]:
    panels: dict[str, frozenset[str]] = {}
    files = list(root.glob("data_gene_panel_*.txt")) + list(root.glob("gene_panels/*.txt"))
    for path in sorted(files):
        if path.name.startswith("data_gene_panel_matrix"):
            continue
        check_inside(root, path, path.name)
        panel_id, genes = read_gene_panel(path)
        panels[panel_id] = genes
    return panels
