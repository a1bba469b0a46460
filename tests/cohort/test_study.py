"""A study's files: its root, its meta files, the data files they name, its gene panels."""

from __future__ import annotations

from pathlib import Path

import pytest

from organo_predict import CohortError
from organo_predict._cohort._study import (
    data_file,
    meta_files,
    parse_meta,
    reference_panels,
    study_panels,
    study_root,
)


def test_meta_files_by_kind_and_line_numbers(tiny_study: Path) -> None:
    metas = meta_files(tiny_study)
    assert set(metas) == {"study", "patients", "samples", "mutations", "cna", "sv",
                          "panel_matrix"}
    path, meta = metas["samples"]
    assert path.name == "meta_clinical_sample.txt"
    assert meta["data_filename"] == ("data_clinical_sample.txt", 4)
    assert data_file(path, meta, tiny_study) == tiny_study / "data_clinical_sample.txt"


def test_only_discrete_copy_number_is_read(tiny_study: Path) -> None:
    meta = tiny_study / "meta_cna.txt"
    meta.write_text(meta.read_text().replace("DISCRETE", "CONTINUOUS"))
    assert "cna" not in meta_files(tiny_study)


def test_a_gz_twin_is_found_and_a_missing_file_named(tiny_study: Path) -> None:
    path, meta = meta_files(tiny_study)["mutations"]
    (tiny_study / "data_mutations.txt").rename(tiny_study / "data_mutations.txt.gz")
    assert data_file(path, meta, tiny_study).name == "data_mutations.txt.gz"
    (tiny_study / "data_mutations.txt.gz").unlink()
    with pytest.raises(CohortError, match="does not exist") as caught:
        data_file(path, meta, tiny_study)
    assert caught.value.column == "data_filename"


def test_parse_meta_names_a_bad_line(tmp_path: Path) -> None:
    meta = tmp_path / "meta_x.txt"
    meta.write_text("a: 1\n# comment\nno colon here\n")
    with pytest.raises(CohortError, match="expected 'key: value'") as caught:
        parse_meta(meta)
    assert caught.value.line == 3


def test_study_root_is_the_folder_or_its_only_study_child(tiny_study: Path) -> None:
    assert study_root(tiny_study) == tiny_study
    assert study_root(tiny_study.parent) == tiny_study
    (tiny_study.parent / "second").mkdir()
    (tiny_study.parent / "second" / "meta_study.txt").write_text("a: b\n")
    with pytest.raises(CohortError, match="2 sub-folders hold a study"):
        study_root(tiny_study.parent)


def test_panels_of_the_study_and_of_the_package(tiny_study: Path) -> None:
    assert set(study_panels(tiny_study)) == {"IMPACT341", "IMPACT410", "IMPACT468"}
    shipped = reference_panels()
    assert {"IMPACT341", "IMPACT410", "IMPACT468"} <= set(shipped)
    assert "EGFR" in shipped["IMPACT341"] and "CXCR4" not in shipped["IMPACT341"]


def _second_mutation_profile(study: Path, main_id: str | None) -> None:
    if main_id is not None:
        meta = study / "meta_mutations.txt"
        meta.write_text(meta.read_text() + f"stable_id: {main_id}\n")
    (study / "meta_mutation_extra.txt").write_text(
        "cancer_study_identifier: tiny_study\ngenetic_alteration_type: MUTATION_EXTENDED\n"
        "datatype: MAF\nstable_id: extra\ndata_filename: data_mutation_extra.txt\n")
    (study / "data_mutation_extra.txt").write_text("Hugo_Symbol\tTumor_Sample_Barcode\n")


def test_several_profiles_of_a_kind_read_with_the_main_one(tiny_study: Path) -> None:
    # file-name order puts meta_mutation_extra.txt first: it used to win
    _second_mutation_profile(tiny_study, "mutations")
    with pytest.warns(UserWarning, match=r"not read: meta_mutation_extra.txt \(stable_id 'extra'"):
        metas = meta_files(tiny_study)
    assert metas["mutations"][0].name == "meta_mutations.txt"


def test_several_profiles_without_a_main_one_are_refused_naming_both(tiny_study: Path) -> None:
    _second_mutation_profile(tiny_study, None)
    with pytest.raises(CohortError, match=r"2 meta files describe the study's mutations "
                       r"\(meta_mutation_extra.txt, meta_mutations.txt\); keep exactly one "
                       r"with stable_id 'mutations'"):
        meta_files(tiny_study)


def test_two_sample_files_are_refused(tiny_study: Path) -> None:
    (tiny_study / "meta_clinical_sample2.txt").write_text(
        (tiny_study / "meta_clinical_sample.txt").read_text())
    with pytest.raises(CohortError, match="describe the study's samples"):
        meta_files(tiny_study)
