"""The embedded cohort: shipped whole, with its provenance and citation."""

from __future__ import annotations

import warnings

import organo_predict as op


def test_embedded_cohort_counts() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", op.UnknownGeneWarning)
        cohort = op.datasets.msk_met()
    assert (len(cohort.patients), len(cohort.samples)) == (23539, 23539)
    assert cohort.study_id == "msk_met_2021"
    assert (op.datasets.msk_met_path() / "PROVENANCE.md").is_file()
    assert (op.datasets.msk_met_path() / "CITATION.md").is_file()


def test_the_embedded_cohort_is_cached_and_cites_its_source() -> None:
    assert op.datasets.msk_met() is op.datasets.msk_met()
    assert "doi:10.1016/j.cell.2022.01.003" in op.datasets.CITATION
