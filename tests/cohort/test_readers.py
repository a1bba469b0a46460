"""Each data file's reader and its checks, on files the tests write."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

from organo_predict import CohortError, CohortWarning
from organo_predict._cohort._readers import (
    GENE_SYMBOL_PATTERN,
    read_cna,
    read_mutations,
    read_sv,
    typed_clinical,
)
from organo_predict._cohort._tables import read_table

KNOWN = pd.Index(["S1", "S2"])


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mutations_keep_the_protein_change_under_any_of_its_names(tmp_path: Path) -> None:
    maf = _file(tmp_path, "m.txt", "Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\t"
                                   "Protein_Change\nEGFR\tS1\tMissense_Mutation\tL858R\n"
                                   "TP53\tS2\tNA\tR273H\n")
    frame = read_mutations(maf, KNOWN)
    assert frame["HGVSp_Short"].tolist() == ["L858R", "R273H"]
    assert frame["Variant_Classification"].tolist() == ["Missense_Mutation", "Unknown"]
    with pytest.raises(CohortError, match="sample 'S9' is not in the sample file") as caught:
        read_mutations(_file(tmp_path, "bad.txt", "Hugo_Symbol\tTumor_Sample_Barcode\t"
                                                  "Variant_Classification\nKRAS\tS9\tx\n"), KNOWN)
    assert caught.value.line == 2


def test_fusion_files_and_sv_files_give_the_same_frame(tmp_path: Path) -> None:
    fusion = _file(tmp_path, "f.txt", "Hugo_Symbol\tTumor_Sample_Barcode\tFusion\n"
                                      "EML4\tS1\tEML4-ALK\n")
    sv = _file(tmp_path, "sv.txt", "Sample_ID\tSite1_Hugo_Symbol\tSite2_Hugo_Symbol\n"
                                   "S1\tEML4\tALK\n")
    a, b = read_sv(fusion, "FUSION", KNOWN), read_sv(sv, "SV", KNOWN)
    assert a.to_dict("records") == b.to_dict("records") == [
        {"SAMPLE_ID": "S1", "Site1_Hugo_Symbol": "EML4", "Site2_Hugo_Symbol": "ALK"}]


def test_gene_symbol_pattern() -> None:
    for good in ("EGFR", "HLA-A", "C1orf147", "AC004906.3"):
        assert re.match(GENE_SYMBOL_PATTERN, good)
    for bad in ("PAX 8", "c.1726_*7586inv", "", "-ALK"):
        assert not re.match(GENE_SYMBOL_PATTERN, bad)


def test_copy_number_duplicate_genes_keep_the_first_row(tmp_path: Path) -> None:
    cna = _file(tmp_path, "c.txt", "Hugo_Symbol\tS1\tS2\nEGFR\t2\t0\nEGFR\t-2\t0\n")
    with pytest.warns(CohortWarning, match="1 duplicated gene row"):
        frame = read_cna(cna, KNOWN)
    assert frame.loc["S1", "EGFR"] == 2


def test_typed_clinical_numbers(tmp_path: Path) -> None:
    path = _file(tmp_path, "s.txt", "#A\tB\n#A\tB\n#NUMBER\tNUMBER\n#1\t1\nA\tB\n1.5\tx\n2\ty\n")
    table = read_table(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = typed_clinical(path, table)
    assert frame["A"].tolist() == [1.5, 2.0]
    assert frame["B"].tolist() == ["x", "y"]  # text under a NUMBER type line: kept as text
    assert ["declared NUMBER" in str(w.message) for w in caught] == [True]


def test_a_fusion_rows_partner_is_the_other_gene(tmp_path: Path) -> None:
    """The FUSION reader named the row's own gene as its partner (EML4 for EML4-ALK)."""
    fusion = _file(tmp_path, "f.txt", "Hugo_Symbol\tTumor_Sample_Barcode\tFusion\n"
                                      "EML4\tS1\tEML4-ALK\nALK\tS1\tEML4-ALK\n"
                                      "RET\tS2\tKIF5B-RET fusion\nNTRK1\tS2\tintragenic\n")
    frame = read_sv(fusion, "FUSION", KNOWN)
    assert frame["Site2_Hugo_Symbol"].tolist()[:3] == ["ALK", "EML4", "KIF5B"]
    assert frame["Site2_Hugo_Symbol"].isna().tolist() == [False, False, False, True]


def test_a_maf_row_without_a_gene_is_named_from_its_entrez_id_or_dropped_with_a_warning(
        tmp_path: Path) -> None:
    # 199 such rows were dropped silently (and counted as an unknown gene 'nan')
    maf = _file(tmp_path, "m.txt", "Hugo_Symbol\tEntrez_Gene_Id\tTumor_Sample_Barcode\t"
                                   "Variant_Classification\n"
                                   "EGFR\t1956\tS1\tMissense_Mutation\n"
                                   "\t1956\tS2\tMissense_Mutation\n"
                                   "NA\t0\tS2\tMissense_Mutation\n"
                                   "\t\tS1\tSilent\n")
    with pytest.warns(CohortWarning, match=r"m.txt, line 3, column 'Hugo_Symbol': 3 row\(s\) "
                      r"with no gene symbol; 1 named from their Entrez_Gene_Id; 2 dropped"):
        frame = read_mutations(maf, KNOWN)
    assert frame["Hugo_Symbol"].tolist() == ["EGFR", "EGFR"]
    assert frame["SAMPLE_ID"].tolist() == ["S1", "S2"]
