"""Batch scoring: the table, the explanations, atomic output, and cohorts the model has not seen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from organo_predict import LoadedModel, OrganoPredictError, save_bundle, score_cohort
from organo_predict.cli import main

ORGANS = ["LIVER", "LUNG", "BONE"]


@pytest.fixture(scope="module")
def loaded(liver_lung_bone) -> LoadedModel:
    builder, model, _ = liver_lung_bone
    return LoadedModel(builder, model, {}, "test")


@pytest.fixture(scope="module")
def small(msk_features):
    cohort, _ = msk_features
    return cohort.subset(cohort.samples.index[::40])  # 589 samples, every kind of cancer


def test_scores_match_the_model_and_chunks_do_not_matter(loaded, small, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    summary = score_cohort(small, loaded, out, chunk_size=100)
    table = pd.read_parquet(out)
    assert list(table.columns) == ["SAMPLE_ID", "PATIENT_ID", "CANCER_TYPE",
                                   "p_LIVER", "p_LUNG", "p_BONE"]
    assert len(table) == len(small.samples) == summary.n_samples and summary.n_chunks == 6
    expected = loaded.model.predict_proba(loaded.builder.transform(small))
    np.testing.assert_allclose(table[["p_LIVER", "p_LUNG", "p_BONE"]].to_numpy(),
                               expected.to_numpy(), atol=1e-12)
    assert table["SAMPLE_ID"].tolist() == small.samples.index.tolist()
    assert summary.expected_share["LIVER"] == pytest.approx(table["p_LIVER"].mean())
    assert not list(tmp_path.glob(".*partial*"))


def test_explain_columns_cite_mechanism_ids(loaded, small, tmp_path) -> None:
    out = tmp_path / "scores.csv"
    score_cohort(small, loaded, out, explain_k=3, chunk_size=250)
    table = pd.read_csv(out, keep_default_na=False)
    for organ in ORGANS:
        for r in (1, 2, 3):
            assert {f"{organ}_driver_{r}", f"{organ}_shap_{r}",
                    f"{organ}_mechanisms_{r}"} <= set(table.columns)
    shap = table[[f"LIVER_shap_{r}" for r in (1, 2, 3)]].abs().to_numpy()
    assert (np.diff(shap, axis=1) <= 1e-12).all()  # ranked by |SHAP|
    cited = set(",".join(table[[c for c in table.columns if "_mechanisms_" in c]]
                         .to_numpy().ravel()).split(",")) - {""}
    assert cited and all(c.isupper() for c in cited)


def test_empty_cohort_and_unknown_genes(loaded, small, tmp_path) -> None:
    empty = small.subset([])
    summary = score_cohort(empty, loaded, tmp_path / "empty.parquet")
    table = pd.read_parquet(tmp_path / "empty.parquet")
    assert len(table) == 0 and summary.n_samples == 0 and "p_LIVER" in table.columns

    strange = replace(small, mutations=small.mutations.assign(
        Hugo_Symbol="NOVEL" + small.mutations["Hugo_Symbol"].astype(str)), cna=None,
        structural_variants=small.structural_variants.iloc[:0])
    summary = score_cohort(strange, loaded, tmp_path / "strange.csv", explain_k=2)
    table = pd.read_csv(tmp_path / "strange.csv")
    probs = table[["p_LIVER", "p_LUNG", "p_BONE"]].to_numpy()
    assert np.isfinite(probs).all() and ((probs > 0) & (probs < 1)).all()
    assert summary.unseen["genes_unknown"] > 100


def test_bad_output_extension_is_refused_before_work(tmp_path, capsys) -> None:
    assert main(["score", "embedded:msk_met", "--model", str(tmp_path), "--out",
                 str(tmp_path / "x.xlsx")]) == 2
    assert "unknown format '.xlsx'" in capsys.readouterr().err
    with pytest.raises(OrganoPredictError, match="is a folder"):
        score_cohort(None, None, tmp_path)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_run_leaves_no_output(loaded, msk_features, tmp_path, sig) -> None:
    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    out = tmp_path / "scores.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "organo_predict.cli", "score", "embedded:msk_met", "--model",
         str(bundle), "--out", str(out), "--chunk-size", "300", "--explain", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "80"})
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".scores.parquet.partial-*")):  # midway: chunks written
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert not out.exists()
    if sig == signal.SIGTERM:  # a catchable signal also removes the partial file
        assert not list(tmp_path.glob(".scores.parquet.partial-*"))
        assert "no output written" in proc.stderr.read().decode()
    else:  # kill -9 cannot clean up: the next run to the same output does
        leftover = list(tmp_path.glob(".scores.parquet.partial-*"))
        assert len(leftover) == 1
        cohort, _ = msk_features
        score_cohort(cohort.subset(cohort.samples.index[:50]), loaded, out)
        assert out.exists() and not leftover[0].exists()
    proc.stderr.close()


def test_a_partial_file_of_a_live_run_is_left_alone(loaded, small, tmp_path) -> None:
    out = tmp_path / "scores.csv"
    alive = tmp_path / f".scores.csv.partial-{os.getppid()}"  # our parent: certainly alive
    alive.write_text("in progress")
    score_cohort(small, loaded, out)
    assert alive.exists()


def test_an_existing_output_is_never_overwritten_unless_asked(loaded, small, tmp_path,
                                                              capsys) -> None:
    out = tmp_path / "scores.csv"
    out.write_text("precious")
    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    assert main(["score", "embedded:msk_met", "--model", str(bundle), "--out", str(out)]) == 2
    assert "already exists; not overwritten" in capsys.readouterr().err
    assert out.read_text() == "precious"
    with pytest.raises(OrganoPredictError, match="already exists"):
        score_cohort(small, loaded, out)
    score_cohort(small, loaded, out, overwrite=True)
    assert len(pd.read_csv(out)) == len(small.samples)


@pytest.mark.parametrize("make_bad, needle", [
    (lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile" / "scores.csv",
     "is a file, not a folder"),
    (lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile" / "deeper" / "scores.csv",
     "is a file, not a folder"),
], ids=["parent-is-a-file", "ancestor-is-a-file"])
def test_a_bad_destination_is_exit_2_before_any_work(tmp_path, capsys, make_bad,
                                                     needle) -> None:
    out = make_bad(tmp_path)
    started = time.perf_counter()  # the model named does not exist: it must not be reached
    assert main(["score", "embedded:msk_met", "--model", str(tmp_path / "none"), "--out",
                 str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert time.perf_counter() - started < 5


def test_cli_score_prints_the_summary(loaded, tmp_path, capsys) -> None:
    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    out = tmp_path / "out.tsv"
    assert main(["score", "embedded:msk_met", "--model", str(bundle), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "expected share" in printed and "training prevalence" in printed
    assert "samples without mutations" in printed
    assert len(pd.read_csv(out, sep="\t")) == 23539


def test_reader_and_feature_warnings_print_as_plain_lines(loaded, tiny_study, tmp_path,
                                                           capsys) -> None:
    """An undefined panel used to reach the user as Python's warning form, pointing into
    sklearn's wrapper; it is one `warning:` line naming the panel."""
    matrix = tiny_study / "data_gene_panel_matrix.txt"
    matrix.write_text(matrix.read_text().replace("IMPACT410", "TEMPUS_XT"))
    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    assert main(["score", str(tiny_study), "--model", str(bundle), "--out",
                 str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning: gene panel 'TEMPUS_XT' (1 sample(s)) has no gene list" in err
    assert "warning: gene panel 'TEMPUS_XT' has no gene list; its genes are inferred" in err
    assert "sklearn" not in err and "warnings.warn" not in err and "UserWarning" not in err


def test_a_parquet_with_explanations_carries_what_the_training_run_replicated(
        loaded, small, tmp_path) -> None:
    """The mechanism columns name ids; the file says, per id, whether the training cohort
    replicates it (the line explanations show beside a cited mechanism)."""
    import json

    import pyarrow.parquet as pq

    from organo_predict._apps._score import MECHANISM_REPLICATION_KEY

    found = {"CXCR4_BONE": "not replicated in msk_met_2021: OR 0.66 [0.35, 1.23]"}
    with_run = replace(loaded, metadata={"mechanism_replication": found})
    score_cohort(small, with_run, tmp_path / "explained.parquet", explain_k=2)
    meta = pq.read_schema(tmp_path / "explained.parquet").metadata
    assert json.loads(meta[MECHANISM_REPLICATION_KEY.encode()]) == found
    score_cohort(small, with_run, tmp_path / "plain.parquet")  # no explanations: no claim
    assert MECHANISM_REPLICATION_KEY.encode() not in (
        pq.read_schema(tmp_path / "plain.parquet").metadata or {})
    assert pd.read_parquet(tmp_path / "explained.parquet").shape[0] == len(small.samples)


def test_a_parquet_says_which_model_scored_which_cohort(loaded, small, tmp_path) -> None:
    # the parquet recorded no model version or run id
    import json

    import pyarrow.parquet as pq

    from organo_predict._apps._score import PROVENANCE_KEY

    registered = replace(loaded, uri="models:/organotropism@champion",
                         info={"source": "mlflow", "name": "organotropism", "version": "7",
                               "alias": "champion", "run_id": "abc123"},
                         metadata={"cohort": "msk_met_2021", "fingerprint": "f00"})
    score_cohort(small, registered, tmp_path / "scores.parquet")
    said = json.loads(pq.read_schema(tmp_path / "scores.parquet").metadata[
        PROVENANCE_KEY.encode()])
    assert said["model_uri"] == "models:/organotropism@champion"
    assert (said["model_version"], said["model_run_id"]) == ("7", "abc123")
    assert said["cohort"] == small.study_id and said["cohort_fingerprint"] == small.fingerprint
    assert said["trained_on"] == "msk_met_2021" and said["scored_at"].endswith("+00:00")


def test_missing_values_are_null_units_are_declared_and_a_long_form_is_tidy(
        loaded, small, tmp_path) -> None:
    """No empty strings for "nothing" (no driver, no documented mechanism); the columns'
    units in the Parquet schema; `layout="long"` one row per sample, organ and rank with
    the wide table's numbers."""
    import json

    import pyarrow.parquet as pq

    wide_path, long_path = tmp_path / "wide.parquet", tmp_path / "long.parquet"
    score_cohort(small, loaded, wide_path, explain_k=3, chunk_size=250)
    score_cohort(small, loaded, long_path, explain_k=3, chunk_size=250, layout="long")
    wide = pd.read_parquet(wide_path)
    text = wide.select_dtypes(include=["object", "string"])
    assert not (text == "").any().any()
    organ = loaded.model.organs_[0]
    mechanisms = wide[[c for c in wide.columns if "_mechanisms_" in c]]
    assert mechanisms.isna().any().any() and mechanisms.notna().any().any()
    units = json.loads(pq.read_schema(wide_path).metadata[b"organo_predict.columns"])
    assert "log-odds" in units["<ORGAN>_shap_<r>"]
    tidy = pd.read_parquet(long_path)
    assert list(tidy.columns) == ["SAMPLE_ID", "PATIENT_ID", "CANCER_TYPE", "organ",
                                  "probability", "rank", "driver", "shap_log_odds",
                                  "mechanisms"]
    assert len(tidy) == len(wide) * len(loaded.model.organs_) * 3
    one = tidy[(tidy["SAMPLE_ID"] == wide["SAMPLE_ID"].iloc[7]) & (tidy["organ"] == organ)]
    row = wide.iloc[7]
    assert list(one["rank"]) == [1, 2, 3]
    assert one["probability"].tolist() == [row[f"p_{organ}"]] * 3
    assert one["shap_log_odds"].tolist() == [row[f"{organ}_shap_{r}"] for r in (1, 2, 3)]
    assert one["driver"].tolist() == [row[f"{organ}_driver_{r}"] for r in (1, 2, 3)]
    with pytest.raises(OrganoPredictError, match="'wide' or 'long'"):
        score_cohort(small, loaded, tmp_path / "x.parquet", layout="tall")  # type: ignore[arg-type]


def test_a_cancer_type_the_model_has_not_seen_is_refused_unless_pooled_is_asked(
        loaded, edit, tmp_path, capsys) -> None:
    """`score`, `explain` and `evaluate` used to score a misspelt type with the pooled
    prior, as another patient; now the cohort is refused naming it (exit 2, nothing
    written), and `--unknown-cancer-type pooled` is the explicit way to accept that."""
    study = edit("data_clinical_sample.txt",
                 lambda t: t.replace("Breast Cancer", "Brest Cancer")
                 .replace("Colorectal Cancer", "colorectal cancer"))  # a case: matched
    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    out = tmp_path / "scores.csv"
    assert main(["score", str(study), "--model", str(bundle), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'Brest Cancer' (1 sample(s); did you mean 'Breast Cancer'?)" in err
    assert "colorectal" not in err and "--unknown-cancer-type pooled" in err
    assert not out.exists()
    assert main(["explain", "S3", "--cohort", str(study), "--model", str(bundle)]) == 2
    assert "Brest Cancer" in capsys.readouterr().err
    assert main(["explain", "S4", "--cohort", str(study), "--model", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["score", str(study), "--model", str(bundle), "--out", str(out),
                 "--unknown-cancer-type", "pooled"]) == 0
    assert len(pd.read_csv(out)) == 4


def test_each_probability_is_followed_by_its_interval_columns(with_intervals, msk_features,
                                                             tmp_path) -> None:
    builder, model, _ = with_intervals
    cohort, _ = msk_features
    sample = cohort.subset(cohort.samples.index[:300])
    out = tmp_path / "scores.csv"
    score_cohort(sample, LoadedModel(builder, model, {}, "test"), out, chunk_size=128)
    table = pd.read_csv(out)
    organs = list(model.organs_)
    assert [c for c in table.columns if c.startswith("p_")] == [
        name for o in organs for name in (f"p_{o}", f"p_{o}_low", f"p_{o}_high")]
    low, high = model.predict_interval(builder.transform(sample))
    np.testing.assert_allclose(table[f"p_{organs[0]}_low"], low[organs[0]], atol=1e-12)
    np.testing.assert_allclose(table[f"p_{organs[0]}_high"], high[organs[0]], atol=1e-12)
    # the tidy layout carries them beside each organ's probability
    tidy = tmp_path / "tidy.csv"
    score_cohort(sample, LoadedModel(builder, model, {}, "test"), tidy, layout="long")
    rows = pd.read_csv(tidy)
    assert {"probability", "probability_low", "probability_high"} <= set(rows.columns)
    first = rows[(rows["SAMPLE_ID"] == sample.samples.index[0]) & (rows["organ"] == organs[0])]
    assert first["probability_low"].item() == pytest.approx(low.iloc[0][organs[0]], abs=1e-12)


def test_the_python_api_refuses_an_unseen_cancer_type_as_the_cli_does(loaded, edit,
                                                                      tmp_path) -> None:
    """`score_cohort` and `evaluate_model` refuse a misspelt type before any work, naming
    it; `unknown_cancer_type="pooled"` is the explicit way to accept the pooled prior."""
    from organo_predict import load_study
    from organo_predict._evaluate._external import evaluate_model

    cohort = load_study(edit("data_clinical_sample.txt",
                             lambda t: t.replace("Breast Cancer", "Brest Cancer")))
    out = tmp_path / "scores.csv"
    with pytest.raises(OrganoPredictError, match=r"'Brest Cancer' \(1 sample\(s\); did you "
                                                 r"mean 'Breast Cancer'\?\)"):
        score_cohort(cohort, loaded, out)
    assert not out.exists()
    with pytest.raises(OrganoPredictError, match="unknown_cancer_type='pooled'"):
        evaluate_model(loaded, cohort)
    assert score_cohort(cohort, loaded, out, unknown_cancer_type="pooled").n_samples == 4
