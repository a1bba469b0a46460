"""The embedded cohort: shipped whole, with its provenance and citation."""

from __future__ import annotations

import warnings

import organo_predict as op


def test_embedded_cohort_counts(tmp_path, monkeypatch) -> None:
    # read afresh (no cached copy, not the in-process cache): its own off-panel symbols are
    # known, so a user's first `msk_met()` warns about nothing
    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error", op.UnknownGeneWarning)
        cohort = op.datasets.msk_met.__wrapped__()
    assert (len(cohort.patients), len(cohort.samples)) == (23539, 23539)
    assert cohort.study_id == "msk_met_2021"
    assert (op.datasets.msk_met_path() / "PROVENANCE.md").is_file()
    assert (op.datasets.msk_met_path() / "CITATION.md").is_file()


def test_the_embedded_cohort_is_cached_and_cites_its_source() -> None:
    assert op.datasets.msk_met() is op.datasets.msk_met()
    assert "doi:10.1016/j.cell.2022.01.003" in op.datasets.CITATION


def test_the_columnar_copy_reads_back_the_study_frame_for_frame(tmp_path, monkeypatch) -> None:
    # explaining one patient parsed all 23,539 every time (1.25 s); the copy reads in ~0.2 s
    import warnings

    import pandas as pd

    from organo_predict import load_study
    from organo_predict.datasets import _columnar_copy, msk_met_path

    monkeypatch.setenv("ORGANO_PREDICT_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def parse(folder):
        calls.append(1)
        return load_study(folder)

    runs = []
    for _ in range(2):
        with warnings.catch_warnings(record=True) as issued:
            warnings.simplefilter("always")
            runs.append((_columnar_copy(msk_met_path(), parse),
                         sorted((type(w.message).__name__, str(w.message)) for w in issued)))
    assert len(calls) == 1  # the second came from the copy
    (parsed, said), (copied, said_again) = runs
    assert said == said_again and said  # the reader's warnings, again
    for name in ("patients", "samples", "mutations", "cna", "structural_variants",
                 "panel_matrix"):
        pd.testing.assert_frame_equal(getattr(parsed, name), getattr(copied, name),
                                      check_exact=True)
    for name in ("study_id", "fingerprint", "source", "profiles"):
        assert getattr(parsed, name) == getattr(copied, name)
    assert dict(parsed.panels) == dict(copied.panels) and dict(parsed.meta) == dict(copied.meta)
    (copy,) = (tmp_path / next(p.name for p in tmp_path.iterdir()) / "cohorts").iterdir()
    (copy / "mutations.parquet").write_bytes(b"damaged")
    _columnar_copy(msk_met_path(), parse)  # a damaged copy is made again, never used
    assert len(calls) == 2


def test_what_the_reader_keeps_and_the_columnar_layout_change_together() -> None:
    """The columnar copy of the embedded cohort is keyed by its layout: a reader that keeps
    other MAF columns must bump `COLUMNAR_LAYOUT`, or users keep a copy without them."""
    from organo_predict import datasets
    from organo_predict._cohort._readers import MAF_KEEP

    assert (datasets.COLUMNAR_LAYOUT, MAF_KEEP) == (2, (
        "Chromosome", "Start_Position", "Variant_Type", "Reference_Allele",
        "Tumor_Seq_Allele2", "t_ref_count", "t_alt_count"))
