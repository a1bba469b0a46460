"""Reading and validating cBioPortal studies: every bad input gets a message naming where."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import numpy as np
import pytest

import organo_predict as op
from organo_predict import CohortError, load_study


def test_reads_every_profile(tiny_study: Path) -> None:
    cohort = load_study(tiny_study)
    assert cohort.study_id == "tiny_study"
    assert list(cohort.samples.index) == ["S1", "S2", "S3", "S4"]
    assert list(cohort.patients.index) == ["P1", "P2", "P3", "P4"]
    assert cohort.patients["AGE_AT_SEQUENCING"].dtype == np.float64
    assert cohort.samples["TMB_NONSYNONYMOUS"].tolist() == [5.1, 3.0, 1.0, 8.0]
    assert len(cohort.mutations) == 8
    assert cohort.cna is not None and cohort.cna.loc["S2", "MET"] == 2
    assert np.isnan(cohort.cna.loc["S4", "PTEN"])
    assert cohort.structural_variants["Site2_Hugo_Symbol"].tolist() == ["ALK"]
    assert cohort.panel_matrix.loc["S1", "mutations"] == "IMPACT341"
    assert "CXCR4" not in cohort.panels["IMPACT341"]
    assert len(cohort.fingerprint) == 32


def test_cohort_is_immutable(tiny_study: Path) -> None:
    cohort = load_study(tiny_study)
    with pytest.raises(AttributeError):
        cohort.samples = cohort.samples  # type: ignore[misc]
    with pytest.raises(TypeError):
        cohort.panels["X"] = frozenset()  # type: ignore[index]


def test_gzip_files_are_read_transparently(tiny_study: Path) -> None:
    plain = load_study(tiny_study)
    maf = tiny_study / "data_mutations.txt"
    (tiny_study / "data_mutations.txt.gz").write_bytes(gzip.compress(maf.read_bytes()))
    maf.unlink()
    assert len(load_study(tiny_study).mutations) == len(plain.mutations)


def test_hash_inside_a_clinical_value_is_kept(edit) -> None:
    root = edit("data_clinical_sample.txt", lambda t: t.replace("CRC MSS", "CRC #MSS"))
    assert load_study(root).samples.loc["S4", "SUBTYPE_ABBREVIATION"] == "CRC #MSS"


def test_tarball_with_top_folder(tiny_study: Path, tmp_path: Path) -> None:
    archive = tmp_path / "tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tiny_study, arcname="tiny_study")
    cohort = load_study(archive)
    assert len(cohort.samples) == 4
    assert cohort.source == str(archive)


def test_missing_meta_file(edit, tiny_study: Path) -> None:
    (tiny_study / "meta_clinical_sample.txt").unlink()
    with pytest.raises(CohortError, match="missing meta file for the clinical sample data"):
        load_study(tiny_study)


def test_not_a_study(tmp_path: Path) -> None:
    with pytest.raises(CohortError, match="no meta_.*not a cBioPortal study"):
        load_study(tmp_path)


def test_missing_data_file(tiny_study: Path) -> None:
    (tiny_study / "data_cna.txt").unlink()
    with pytest.raises(CohortError) as err:
        load_study(tiny_study)
    assert err.value.file == "meta_cna.txt" and err.value.line == 4
    assert "data file 'data_cna.txt' named here does not exist" in str(err.value)


@pytest.mark.parametrize(
    ("name", "column"),
    [("data_mutations.txt", "Variant_Classification"), ("data_mutations.txt", "Hugo_Symbol"),
     ("data_mutations.txt", "Tumor_Sample_Barcode"), ("data_clinical_sample.txt", "PATIENT_ID"),
     ("data_clinical_sample.txt", "SAMPLE_ID"), ("data_clinical_sample.txt", "CANCER_TYPE"),
     ("data_clinical_patient.txt", "PATIENT_ID")],
)
def test_missing_required_column(edit, name: str, column: str) -> None:
    root = edit(name, lambda t: t.replace(f"\n{column}\t", "\nRENAMED\t")
                .replace(f"\t{column}\t", "\tRENAMED\t").replace(f"{column}\t", "RENAMED\t", 1))
    with pytest.raises(CohortError) as err:
        load_study(root)
    assert err.value.file == name and err.value.column == column
    assert f"missing required column '{column}'" in str(err.value)
    assert err.value.line == (5 if "clinical" in name else 1)


def test_duplicate_sample_ids(edit) -> None:
    root = edit("data_clinical_sample.txt", lambda t: t.replace("\tS3\t", "\tS1\t"))
    with pytest.raises(CohortError) as err:
        load_study(root)
    assert str(err.value) == ("data_clinical_sample.txt, line 8, column 'SAMPLE_ID': duplicate "
                              "SAMPLE_ID 'S1' (first seen on line 6)")


@pytest.mark.parametrize(
    ("name", "needle", "line", "column"),
    [("data_mutations.txt", "\tS4\tSilent", 8, "Tumor_Sample_Barcode"),
     ("data_gene_panel_matrix.txt", "S4\t", 5, "SAMPLE_ID")],
)
def test_unknown_sample_in_genomic_file(edit, name: str, needle: str, line: int,
                                        column: str) -> None:
    root = edit(name, lambda t: t.replace(needle, needle.replace("S4", "S99")))
    with pytest.raises(CohortError) as err:
        load_study(root)
    assert (err.value.file, err.value.line, err.value.column) == (name, line, column)
    assert "'S99' is not in the sample file" in str(err.value)


def test_unknown_sample_in_cna_header(edit) -> None:
    root = edit("data_cna.txt", lambda t: t.replace("\tS3", "\tS77", 1))
    with pytest.raises(CohortError, match=r"data_cna\.txt, line 1, column 'S77': sample 'S77'"):
        load_study(root)


@pytest.mark.parametrize("bad", ["3", "-3", "amp"])
def test_cna_value_out_of_range(edit, bad: str) -> None:
    root = edit("data_cna.txt", lambda t: t.replace("ERBB2\t0\t0\t2", f"ERBB2\t0\t0\t{bad}"))
    with pytest.raises(CohortError) as err:
        load_study(root)
    assert (err.value.file, err.value.line, err.value.column) == ("data_cna.txt", 4, "S3")
    assert repr(bad) in str(err.value)


def test_ragged_row(edit) -> None:
    root = edit("data_mutations.txt", lambda t: t.replace("\tp.G12C", ""))
    with pytest.raises(CohortError) as err:
        load_study(root)
    assert (err.value.file, err.value.line) == ("data_mutations.txt", 3)
    assert "expected 5 tab-separated fields, found 4" in str(err.value)


def test_truncated_file(tiny_study: Path) -> None:
    maf = tiny_study / "data_clinical_sample.txt"
    maf.write_bytes(maf.read_bytes()[:-20])
    with pytest.raises(CohortError, match=r"data_clinical_sample\.txt, line 9: ragged or "
                                          r"truncated row"):
        load_study(tiny_study)


def test_truncated_gzip(tiny_study: Path) -> None:
    maf = tiny_study / "data_mutations.txt"
    blob = gzip.compress(maf.read_bytes())
    (tiny_study / "data_mutations.txt.gz").write_bytes(blob[: len(blob) // 2])
    maf.unlink()
    with pytest.raises(CohortError, match=r"data_mutations\.txt\.gz: truncated or corrupt gzip"):
        load_study(tiny_study)


def test_truncated_cna_row(edit) -> None:
    root = edit("data_cna.txt", lambda t: t[: t.rindex("\t")] + "\n")
    with pytest.raises(CohortError, match=r"data_cna\.txt, line 5: ragged or truncated row"):
        load_study(root)


def test_unknown_gene_symbol_warns(edit) -> None:
    root = edit("data_mutations.txt", lambda t: t.replace("CXCR4\t", "NOTAGENE1\t"))
    with pytest.warns(op.UnknownGeneWarning, match="NOTAGENE1"):
        cohort = load_study(root)
    assert "NOTAGENE1" in set(cohort.mutations["Hugo_Symbol"])


def test_sv_gene_fields_that_are_not_symbols_warn_and_read_as_missing(edit) -> None:
    """Real studies carry free text ("TMPRSS2 exon 2 with ERG exon 4") or shifted HGVS text
    in the gene columns; such a value is no gene, and the warning names where it is."""
    root = edit("data_sv.txt", lambda t: t.replace("EML4\tALK", "EML4\tc.1726_*7586inv"))
    with pytest.warns(UserWarning, match=r"data_sv\.txt, line 2, column 'Site2_Hugo_Symbol': "
                                         r"1 value\(s\) that are not gene symbols"):
        cohort = load_study(root)
    sv = cohort.structural_variants
    assert sv["Site1_Hugo_Symbol"].tolist() == ["EML4"]
    assert sv["Site2_Hugo_Symbol"].isna().all()


def test_subset_keeps_only_requested_samples(tiny_study: Path) -> None:
    cohort = load_study(tiny_study).subset(["S2", "S4"])
    assert list(cohort.samples.index) == ["S2", "S4"]
    assert set(cohort.mutations["SAMPLE_ID"]) == {"S2", "S4"}
    assert list(cohort.patients.index) == ["P2", "P4"]


def test_errors_share_one_base_class() -> None:
    for cls in (op.CohortError, op.DownloadError, op.FeatureError, op.LeakageError,
                op.ConfigError, op.ModelError):
        assert issubclass(cls, op.OrganoPredictError)


# --------------------------------------------------------------------------- hardening (#19)


def _meta_pointing_at(root: Path, target: str) -> None:
    (root / "meta_clinical_patient.txt").write_text(
        "cancer_study_identifier: tiny_study\ngenetic_alteration_type: CLINICAL\n"
        f"datatype: PATIENT_ATTRIBUTES\ndata_filename: {target}\n")


def _tarball(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return archive


@pytest.mark.parametrize("packed", [False, True], ids=["folder", "tar.gz"])
@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../../../../../etc/passwd",
                                    "../outside.txt"])
def test_a_study_cannot_name_a_file_outside_itself(tiny_study: Path, tmp_path: Path,
                                                   target: str, packed: bool, capsys) -> None:
    (tmp_path / "outside.txt").write_text("secret-canary\tline\n")
    _meta_pointing_at(tiny_study, target)
    source = _tarball(tiny_study, tmp_path / "s.tar.gz") if packed else tiny_study
    with pytest.raises(CohortError, match="outside the study folder") as caught:
        load_study(source)
    assert caught.value.file == "meta_clinical_patient.txt"
    assert caught.value.line == 4 and caught.value.column == "data_filename"
    from organo_predict.cli import main

    assert main(["validate", str(source)]) == 2
    printed = capsys.readouterr()
    assert "root:" not in printed.err + printed.out
    assert "secret-canary" not in printed.err + printed.out


def test_a_symlinked_data_file_leaving_the_study_is_refused(tiny_study: Path,
                                                             tmp_path: Path) -> None:
    (tmp_path / "elsewhere.txt").write_text("PATIENT_ID\tSEX\nP1\tMale\n")
    (tiny_study / "data_clinical_patient.txt").unlink()
    (tiny_study / "data_clinical_patient.txt").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(CohortError, match="links outside the study folder"):
        load_study(tiny_study)


def test_the_study_is_looked_for_only_one_level_down(tiny_study: Path, tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    tiny_study.rename(deep / "tiny_study")
    with pytest.raises(CohortError, match="immediate sub-folder"):
        load_study(tmp_path / "a")
    assert len(load_study(deep).samples) == 4


def test_messages_quote_at_most_a_short_excerpt(edit) -> None:
    huge = "X" * 1_000_000
    root = edit("data_mutations.txt", lambda t: t.replace("Hugo_Symbol", huge, 1))
    with pytest.raises(CohortError) as caught:
        load_study(root)
    assert len(str(caught.value)) < 500


def test_messages_are_printed_as_text_not_console_markup(edit, capsys) -> None:
    from organo_predict.cli import main

    root = edit("data_mutations.txt", lambda t: t.replace("Hugo_Symbol", "root:x:[bold]", 1))
    assert main(["validate", str(root)]) == 2
    assert "header has: root:x:[bold]" in capsys.readouterr().err


def test_non_utf8_bytes_are_named_by_line(edit) -> None:
    root = edit("data_mutations.txt", lambda t: t)
    path = root / "data_mutations.txt"
    path.write_bytes(path.read_bytes().replace(b"p.L858R", b"p.L858R\xff"))
    with pytest.raises(CohortError, match="not UTF-8 text: byte 0xff") as caught:
        load_study(root)
    assert caught.value.line == 2


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_byte_order_mark_is_read_as_its_encoding(tiny_study: Path, encoding: str) -> None:
    expected = load_study(tiny_study).mutations
    for name in ("data_mutations.txt", "data_clinical_sample.txt", "meta_study.txt"):
        path = tiny_study / name
        path.write_bytes(path.read_text().encode(encoding))
    cohort = load_study(tiny_study)
    assert cohort.study_id == "tiny_study"
    assert cohort.mutations.equals(expected)


def test_a_wrong_number_type_token_keeps_the_text_and_fails_validation(edit, capsys) -> None:
    from organo_predict.cli import main

    def wrong_type(text: str) -> str:
        lines = text.split("\n")
        types = lines[2].split("\t")
        types[2] = "NUMBER"  # CANCER_TYPE
        lines[2] = "\t".join(types)
        return "\n".join(lines)

    root = edit("data_clinical_sample.txt", wrong_type)
    with pytest.warns(op.CohortWarning, match="CANCER_TYPE.*declared NUMBER"):
        cohort = load_study(root)
    assert cohort.samples["CANCER_TYPE"].tolist()[0] == "Non-Small Cell Lung Cancer"
    assert main(["validate", str(root)]) == 2
    assert "problem: data_clinical_sample.txt, line 6, column 'CANCER_TYPE'" in (
        capsys.readouterr().err)


@pytest.mark.parametrize("breakage, needle", [
    (lambda root: (root / "meta_study.txt").unlink(), "no meta_study.txt"),
    (lambda root: (root / "data_gene_panel_matrix.txt").write_text(
        (root / "data_gene_panel_matrix.txt").read_text().replace("IMPACT410", "TEMPUS_XT")),
     "gene panel 'TEMPUS_XT' (1 sample(s)) has no gene list"),
], ids=["no-meta-study", "undefined-panel"])
def test_validate_fails_on_what_the_reader_had_to_guess(tiny_study: Path, breakage, needle,
                                                        capsys) -> None:
    from organo_predict.cli import main

    assert main(["validate", str(tiny_study)]) == 0
    breakage(tiny_study)
    assert main(["validate", str(tiny_study)]) == 2
    err = capsys.readouterr().err
    assert "problem: " in err and needle in err and "1 problem(s)" in err


def test_the_embedded_cohort_validates_clean(capsys) -> None:
    from organo_predict.cli import main

    assert main(["validate", "embedded:msk_met"]) == 0
    assert "problem" not in capsys.readouterr().err
