"""Each kind of cBioPortal data file read into the frames a `Cohort` holds, with the checks
that belong to it (unique ids, known samples, typed clinical columns, gene symbols, copy-number
values). Every problem names the file, line and column."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._base._errors import CohortError, CohortWarning, excerpt
from ._tables import Table, isin, read_bytes, read_discrete_cna, read_table

__all__ = ["GENE_SYMBOL_PATTERN", "MAF_KEEP", "check_known", "check_unique", "read_cna",
           "read_mutations", "read_panel_matrix", "read_sv", "typed_clinical"]

MUTATION_COLUMNS = ("Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification")
_PROTEIN_CHANGE_ALIASES = ("HGVSp_Short", "Protein_Change", "AMINO_ACID_CHANGE", "HGVSp")
# what a MAF row keeps besides the gene, sample, class and protein change: where it is, its
# alleles (an indel's class from their lengths, markers.toml [allele_length_classes]) and
# read counts. A change here is a new layout of the embedded cohort's columnar copy: bump
# datasets.COLUMNAR_LAYOUT (tests/test_datasets.py holds the pair).
MAF_KEEP = ("Chromosome", "Start_Position", "Variant_Type", "Reference_Allele",
            "Tumor_Seq_Allele2", "t_ref_count", "t_alt_count")
# what a gene symbol can look like (HGNC symbols, Entrez-style aliases); profiles use it too
GENE_SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-_/]{0,31}$"


# --------------------------------------------------------------------------- clinical files


def _clinical_types(path: Path, table: Table) -> dict[str, str]:
    """Column -> STRING/NUMBER/BOOLEAN from the 3rd leading header line, when present."""
    if table.header_line < 4:
        return {}
    lines = read_bytes(path).split(b"\n", 4)
    types = lines[2].decode("utf-8", errors="replace").lstrip("#").rstrip("\r").split("\t")
    return dict(zip(table.frame.columns, (t.strip().upper() for t in types), strict=False))


def typed_clinical(path: Path, table: Table) -> pd.DataFrame:
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


def check_unique(table: Table, column: str) -> None:
    dup = table.frame[column].duplicated(keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        value = table.frame[column].iloc[row]
        first = int(np.flatnonzero((table.frame[column] == value).to_numpy())[0])
        raise CohortError(f"duplicate {column} {excerpt(value)} (first seen on line "
                          f"{table.line_of(first)})", file=table.name, line=table.line_of(row),
                          column=column)


def check_known(table: Table, column: str, known: pd.Index, what: str) -> None:
    unknown = ~isin(table.frame[column], known)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        more = int(unknown.sum()) - 1
        raise CohortError(f"{what} {excerpt(table.frame[column].iloc[row])} is not in the sample file"
                          + (f" ({more} more row(s) like it)" if more else ""),
                          file=table.name, line=table.line_of(row), column=column)


# --------------------------------------------------------------------------- genomic files


def read_mutations(path: Path, known_samples: pd.Index) -> pd.DataFrame:
    table = read_table(path, required=MUTATION_COLUMNS)
    check_known(table, "Tumor_Sample_Barcode", known_samples, "sample")
    frame = _with_gene_symbols(table)
    protein = next((c for c in _PROTEIN_CHANGE_ALIASES if c in frame.columns), None)
    out = pd.DataFrame({
        "SAMPLE_ID": frame["Tumor_Sample_Barcode"].astype(str),
        "Hugo_Symbol": frame["Hugo_Symbol"].astype(str),
        "Variant_Classification": frame["Variant_Classification"].fillna("Unknown").astype(str),
        "HGVSp_Short": (frame[protein] if protein else pd.Series(pd.NA, index=frame.index))
        .astype("string"),
    })
    for column in MAF_KEEP:
        if column in frame.columns:
            out[column] = frame[column]
    return out


def _with_gene_symbols(table: Table) -> pd.DataFrame:
    """The MAF's rows that name a gene. An empty Hugo_Symbol is taken from another row of
    the file with the same Entrez_Gene_Id (cBioPortal resolves it by that id); the rows
    left without a gene are dropped with a warning that counts them and names the first
    line (199 such rows were dropped silently, and read as a gene named 'nan')."""
    frame = table.frame
    symbols = frame["Hugo_Symbol"].astype("string").str.strip().replace("", pd.NA)
    missing = symbols.isna().to_numpy()
    if not missing.any():
        return frame
    if "Entrez_Gene_Id" in frame:
        entrez = frame["Entrez_Gene_Id"].astype("string").str.strip()
        known = (pd.DataFrame({"id": entrez, "gene": symbols}).dropna()
                 .query("id != '0'").drop_duplicates("id").set_index("id")["gene"])
        symbols = symbols.fillna(entrez.map(known))
    still = symbols.isna().to_numpy()
    n_found = int(missing.sum() - still.sum())
    first = table.line_of(int(np.flatnonzero(missing)[0]))
    note = f"; {n_found} named from their Entrez_Gene_Id" if n_found else ""
    warnings.warn(f"{table.name}, line {first}, column 'Hugo_Symbol': {int(missing.sum())} "
                  f"row(s) with no gene symbol{note}"
                  + (f"; {int(still.sum())} dropped (no gene to count them for)" if still.any()
                     else ""), CohortWarning, stacklevel=4)
    out = frame.assign(Hugo_Symbol=symbols)
    return out[~still].reset_index(drop=True)


def read_sv(path: Path, datatype: str, known_samples: pd.Index) -> pd.DataFrame:
    """Structural variants (SV format) or fusions (the older FUSION format: one row per gene,
    the partner named in `Fusion` as GENE1-GENE2) as SAMPLE_ID and the two genes."""
    if datatype.upper() == "FUSION":
        table = read_table(path, required=("Hugo_Symbol", "Tumor_Sample_Barcode"))
        check_known(table, "Tumor_Sample_Barcode", known_samples, "sample")
        frame = table.frame
        gene = _gene_symbols(table, "Hugo_Symbol")
        return pd.DataFrame({"SAMPLE_ID": frame["Tumor_Sample_Barcode"].astype(str),
                             "Site1_Hugo_Symbol": gene,
                             "Site2_Hugo_Symbol": _fusion_partner(frame, gene)})
    table = read_table(path, required=("Sample_ID",))
    frame = table.frame
    if "Site1_Hugo_Symbol" not in frame and "Site2_Hugo_Symbol" not in frame:
        raise CohortError("missing required column 'Site1_Hugo_Symbol'", file=table.name,
                          line=table.header_line, column="Site1_Hugo_Symbol")
    check_known(table, "Sample_ID", known_samples, "sample")
    return pd.DataFrame({"SAMPLE_ID": frame["Sample_ID"].astype(str),
                         "Site1_Hugo_Symbol": _gene_symbols(table, "Site1_Hugo_Symbol"),
                         "Site2_Hugo_Symbol": _gene_symbols(table, "Site2_Hugo_Symbol")})


def _fusion_partner(frame: pd.DataFrame, gene: pd.Series) -> pd.Series:
    """The other gene of `Fusion` (EML4-ALK: ALK for the EML4 row, EML4 for the ALK row);
    missing without a `Fusion` column or when the row's gene is not one of its two."""
    if "Fusion" not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    parts = frame["Fusion"].astype("string").str.split("-", n=1, expand=True)
    if parts.shape[1] < 2:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    # "KIF5B-RET fusion": the second gene is the first word after the dash
    first, second = parts[0].str.strip(), parts[1].str.strip().str.split(" ").str[0]
    partner = second.where(first == gene, first.where(second == gene))
    return partner.where(partner.str.match(GENE_SYMBOL_PATTERN).fillna(False)).astype("string")


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


def read_cna(path: Path, known_samples: pd.Index) -> pd.DataFrame:
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


def read_panel_matrix(path: Path, known_samples: pd.Index) -> pd.DataFrame:
    table = read_table(path, required=("SAMPLE_ID",))
    check_unique(table, "SAMPLE_ID")
    check_known(table, "SAMPLE_ID", known_samples, "sample")
    return table.frame.set_index("SAMPLE_ID")
