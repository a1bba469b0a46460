"""End to end on a sample of the real cohort: CV, metrics.json, MLflow registry and alias."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import organo_predict as op
from organo_predict import load_config
from organo_predict._apps._config import shipped_leakage_policy
from organo_predict.cli import main

SITE_KEYS = {"prevalence", "auroc", "auroc_ci", "auroc_within_type", "auroc_primary", "auprc",
             "brier", "ece", "prior_auroc", "prior_auroc_within_type", "clinical_auroc"}


@pytest.fixture
def sample_study(tmp_path: Path) -> Path:
    """3,000 patients of the embedded cohort, written back out as a cBioPortal folder."""
    import shutil

    import organo_predict as op

    src = op.datasets.msk_met_path()
    out = tmp_path / "sample"
    out.mkdir()
    for meta in src.glob("meta_*.txt"):
        shutil.copy(meta, out / meta.name)
    shutil.copytree(src / "gene_panels", out / "gene_panels")
    samples = pd.read_csv(src / "data_clinical_sample.txt.gz", sep="\t", dtype=str,
                          skiprows=4, keep_default_na=False)
    keep = samples.sample(n=3000, random_state=1)["SAMPLE_ID"]
    header = "".join(pd.read_csv(src / "data_clinical_sample.txt.gz", sep="\t", header=None,
                                 nrows=4, dtype=str).apply(lambda r: "\t".join(r) + "\n",
                                                           axis=1))
    (out / "data_clinical_sample.txt").write_text(
        header + samples[samples["SAMPLE_ID"].isin(keep)].to_csv(sep="\t", index=False))
    patients = pd.read_csv(src / "data_clinical_patient.txt.gz", sep="\t", dtype=str,
                           skiprows=4, keep_default_na=False)
    pids = set(samples.loc[samples["SAMPLE_ID"].isin(keep), "PATIENT_ID"])
    pheader = "".join(pd.read_csv(src / "data_clinical_patient.txt.gz", sep="\t", header=None,
                                  nrows=4, dtype=str).apply(lambda r: "\t".join(r) + "\n",
                                                            axis=1))
    (out / "data_clinical_patient.txt").write_text(
        pheader + patients[patients["PATIENT_ID"].isin(pids)].to_csv(sep="\t", index=False))
    maf = pd.read_csv(src / "data_mutations.txt.gz", sep="\t", dtype=str, keep_default_na=False)
    maf[maf["Tumor_Sample_Barcode"].isin(keep)].to_csv(out / "data_mutations.txt", sep="\t",
                                                       index=False)
    cna = pd.read_csv(src / "data_cna.txt.gz", sep="\t", dtype=str, keep_default_na=False)
    cna[["Hugo_Symbol", *keep]].to_csv(out / "data_cna.txt", sep="\t", index=False)
    sv = pd.read_csv(src / "data_sv.txt.gz", sep="\t", dtype=str, keep_default_na=False)
    sv[sv["Sample_ID"].isin(keep)].to_csv(out / "data_sv.txt", sep="\t", index=False)
    panel = pd.read_csv(src / "data_gene_panel_matrix.txt.gz", sep="\t", dtype=str)
    panel[panel["SAMPLE_ID"].isin(keep)].to_csv(out / "data_gene_panel_matrix.txt", sep="\t",
                                                index=False)
    return out


def _config(tmp_path: Path, study: Path, **model: object) -> Path:
    settings = {"n_estimators": 60, **model}
    body = "\n".join(f"{k} = {v!r}" for k, v in settings.items())
    path = tmp_path / "small.toml"
    path.write_text(f"""
name = "small"
[cohort]
source = "{study}"
[leakage]
allow = ["cancer_type", "subtype"]
on_refusal = "drop"
[model]
organs = ["LIVER", "LUNG", "BONE", "CNS_BRAIN", "DIST_LN", "PLEURA", "ADRENAL_GLAND",
          "INTRA_ABDOMINAL", "BREAST"]
{body}
[evaluation]
n_splits = 3
n_bootstrap = 50
[mlflow]
experiment = "small"
registered_model = "organotropism"
""")
    return path


@pytest.mark.slow
def test_experiment_end_to_end_and_reload_by_alias(tmp_path: Path, sample_study: Path,
                                                   monkeypatch, capsys) -> None:
    import mlflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = _config(tmp_path, sample_study)
    assert main(["experiment", "--config", str(config), "--report-dir", "rep"]) == 0
    printed = capsys.readouterr().out
    assert "macro within-type AUROC" in printed and "alias champion" in printed
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert metrics["population"] == "metastatic"
    assert 1000 < metrics["n_patients"] < 3000
    # the trees read no panel from missingness: every alteration flag, unprofiled = absent
    assert metrics["leakage"]["policy"] == shipped_leakage_policy()
    unprofiled = metrics["leakage"]["unprofiled"]
    assert unprofiled["read_as"] == "absent"
    # all but the ~10 context and whole-tumor columns (type, subtype, site, sex, age, TMB, ...)
    assert unprofiled["n_features"] > 100
    assert 0 < metrics["n_features"] - unprofiled["n_features"] <= 12
    assert 0.4 < metrics["macro_within_type_auroc_main8"] < 0.9
    for organ, site in metrics["sites"].items():
        assert set(site) >= SITE_KEYS, organ
        assert site["auroc_ci"][0] <= site["auroc"] <= site["auroc_ci"][1]
    # BREAST has too few positives in 3,000 patients to learn: reported, not dropped
    assert "BREAST" in metrics["sites"] and "BREAST" in metrics["not_trained"]
    from organo_predict._knowledge._mechanisms import load_mechanisms

    entries = {e["id"]: e for e in metrics["mechanisms"]}
    assert set(entries) == {m.id for m in load_mechanisms().mechanisms}  # every entry
    for e in entries.values():
        assert set(e) >= {"id", "n_carriers", "cohort", "model_marginal", "attribution",
                          "carried_by", "verdict"}
        if e["cohort"] is not None:
            assert e["cohort"]["or_ci"][0] <= e["cohort"]["or"] <= e["cohort"]["or_ci"][1]
            assert 0 <= e["cohort"]["q"] <= 1
    summary = metrics["mechanism_replication"]
    assert summary["model_intervals"].startswith("grouped jackknife over 3 refits (CV folds); "
                                                 "the marginal contrast on out-of-fold")
    assert summary["testable"] >= 5
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "## Mechanism replication" in report and "## Fidelity" in report
    for section in ("## Intervals on each probability", "## Decision curves", "## Subgroups"):
        assert section in report
    fidelity = metrics["fidelity"]
    assert fidelity["predictions"] == "out of fold"
    assert set(fidelity["residual_slope"]) == set(metrics["sites"])
    tested = {e["id"] for e in metrics["mechanisms"] if e["cohort"] is not None}
    assert {e["id"] for e in fidelity["entries"]} == tested
    replicated = [e for e in fidelity["entries"] if e["replicated"]]
    assert fidelity["n_pooled"] == len(replicated)
    if replicated:
        low, high = fidelity["pooled_ratio_ci"]
        assert low <= fidelity["pooled_ratio"] <= high
    # the rounds the cross-validation chose are the final trees
    for organ, rounds in metrics["rounds"]["final"].items():
        assert len(metrics["rounds"]["folds"][organ]) == 3 and rounds >= 0
    # an interval on every probability, checked out of fold, pooled and within type
    intervals = metrics["intervals"]
    assert intervals["method"].startswith("Venn-ABERS") and intervals["largest_types"]
    for check in intervals["organs"].values():
        assert check["pooled"]["n_bins"] > 0 and 0 < check["pooled"]["mean_width"] < 0.5
        assert set(check["types"]) <= set(intervals["largest_types"])
    # decision curves of the main organs, each over its stated range
    curves = metrics["decision_curves"]
    assert set(curves["organs"]) == set(metrics["main_organs"]) and "odds" in curves["range"]
    for scopes in curves["organs"].values():
        pooled = scopes["pooled"]
        assert len(pooled["thresholds"]) == len(pooled["model"]) == len(pooled["prior"])
        low, high = pooled["gain_over_prior_per_100_ci"]
        assert low <= pooled["gain_over_prior_per_100"] <= high
    # subgroups: sex, age band, panel and sample type, with bootstrap intervals
    subgroups = metrics["subgroups"]["organs"]["LIVER"]
    assert {r["variable"] for r in subgroups} == {"sex", "age", "panel", "sample type"}
    assert {r["level"] for r in subgroups if r["variable"] == "sample type"} == {
        "primary", "metastasis"}
    assert sum(r["n"] for r in subgroups if r["variable"] == "sex") <= metrics["n_samples"]
    for name in ("report.md", "model_card.md", "per_organ.csv", "per_cancer_type.csv",
                 "roc.png", "calibration.png", "shap_beeswarm.png", "mechanisms_forest.png",
                 "decision_curves.png"):
        assert (tmp_path / "rep" / name).is_file()
    card = (tmp_path / "rep" / "model_card.md").read_text()
    assert "Research use only" in card and f"{metrics['n_patients']:,} patients" in card
    from organo_predict._apps._model_card import model_card

    assert card == model_card(metrics)  # every number in it is metrics.json's
    assert "not reported by this run" not in card
    assert (tmp_path / "mlflow.db").is_file()

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/organotropism@champion")
    example = model.input_example
    proba = model.predict(example)
    # each probability with its Venn-ABERS bounds, which travel with the registered model
    assert list(proba.columns)[:4] == ["p_LIVER", "p_LIVER_low", "p_LIVER_high", "p_LUNG"]
    assert ((proba.to_numpy() > 0) & (proba.to_numpy() < 1)).all()
    assert (proba["p_LIVER_low"] <= proba["p_LIVER_high"]).all()
    # unseen cancer type and missing columns are tolerated
    odd = example.drop(columns=["tmb"]).assign(cancer_type="Never Seen Cancer")
    assert np.isfinite(model.predict(odd).to_numpy()).all()
    # its environment pins what gives its numbers, LightGBM first among them
    from importlib import metadata

    requirements = Path(mlflow.pyfunc.get_model_dependencies(
        "models:/organotropism@champion")).read_text().split()
    assert f"lightgbm=={metadata.version('lightgbm')}" in requirements
    assert f"organo-predict=={metadata.version('organo-predict')}" in requirements
    # what the MLflow UI shows: a model-development experiment (not the GenAI traces view),
    # the parent run as long as the experiment, organ runs with parameters and intervals,
    # metrics.json among the artifacts, and a registry that says what the model is
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name("small")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    parent = client.get_run(metrics["mlflow"]["run_id"])
    assert (parent.info.end_time - parent.info.start_time) / 1000 >= metrics["elapsed_s"] - 1
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {c.info.run_name for c in children} == set(metrics["sites"])
    lung = next(c for c in children if c.info.run_name == "LUNG")
    assert lung.data.params["rounds"] == str(metrics["rounds"]["final"]["LUNG"])
    assert {"calibration_slope", "calibration_intercept", "status"} <= set(lung.data.params)
    assert lung.data.metrics["auroc_ci_low"] == metrics["sites"]["LUNG"]["auroc_ci"][0]
    assert "gain_within_type_ci_high" in lung.data.metrics
    for run in (parent, lung):  # the context MLflow's own start_run records, kept
        assert {"mlflow.user", "mlflow.source.name", "organo_predict.pid"} <= set(run.data.tags)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/model_card.md", "report/metrics.json"} <= artifacts
    logged = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=parent.info.run_id, artifact_path="report/metrics.json",
        dst_path=str(tmp_path / "dl"))).read_text())
    assert logged["macro_within_type_auroc_main8"] == metrics["macro_within_type_auroc_main8"]
    assert "Research use only" in client.get_registered_model("organotropism").description
    assert "within-type AUROC" in client.get_model_version("organotropism", "1").description


    # on its training cohort, `mechanisms` prints the run's own table (jackknife intervals)
    assert main(["mechanisms", "--cohort", str(sample_study), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["entries"] == json.loads(json.dumps(metrics["mechanisms"]))

    # a worse second run is registered but does not take the alias
    config = _config(tmp_path, sample_study, n_estimators=1, learning_rate=0.0001)
    assert main(["experiment", "--config", str(config), "--report-dir", "rep2"]) == 0
    assert "champion unchanged" in capsys.readouterr().out
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("organotropism", "champion").version) == "1"
    champion = client.get_model_version_by_alias("organotropism", "champion")
    assert client.get_run(champion.run_id).data.tags["leakage_policy"] == shipped_leakage_policy()

    # recalibrated on local labels: a new version under its own alias; champion stays
    assert main(["recalibrate", str(sample_study), "--alias", "local"]) == 0
    assert "alias local (champion unchanged" in capsys.readouterr().out
    assert str(client.get_model_version_by_alias("organotropism", "local").version) == "3"
    assert str(client.get_model_version_by_alias("organotropism", "champion").version) == "1"
    recalibrated = mlflow.pyfunc.load_model("models:/organotropism@local")
    assert np.isfinite(recalibrated.predict(example).to_numpy()).all()
    # evaluate: an MLflow run linked both ways to the version it evaluated
    assert main(["evaluate", str(sample_study), "--model", "models:/organotropism@local",
                 "--report-dir", "eval"]) == 0
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["model"]["version"] == "3" and evaluated["sites"]
    version = client.get_model_version("organotropism", "3")
    run_id = next(v for k, v in version.tags.items() if k.startswith("evaluated_on."))
    assert client.get_run(run_id).data.tags["model.version"] == "3"
    assert f"MLflow run {run_id}" in capsys.readouterr().out

    # the local registry is read without MLflow, and follows an alias that moves
    from organo_predict import load_model
    from organo_predict._model._loading import _from_local_registry

    fast = _from_local_registry("models:/organotropism@local")
    assert fast is not None and fast.info["version"] == "3"
    client.set_registered_model_alias("organotropism", "local", "1")
    moved_alias = load_model("models:/organotropism@local")
    assert moved_alias.info["version"] == "1" and moved_alias.info["alias"] == "local"
    skill = moved_alias.metadata["skill"]  # the run's within-type skill travels with it
    assert skill["LUNG"]["auroc_within_type"] == metrics["sites"]["LUNG"]["auroc_within_type"]
    by_mlflow = mlflow.pyfunc.load_model("models:/organotropism@local").unwrap_python_model()
    from organo_predict import load_study

    patients = load_study(sample_study)
    np.testing.assert_array_equal(
        moved_alias.model.predict_proba(moved_alias.builder.transform(patients)).to_numpy(),
        by_mlflow.model.predict_proba(by_mlflow.builder.transform(patients)).to_numpy())
    assert _from_local_registry("models:/organotropism@nosuchalias") is None

    # the MLflow home copied elsewhere: the artifacts it names are gone, and the message
    # says so (it said "run organo-predict experiment first")
    import shutil

    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    moved.mkdir()
    shutil.copy(tmp_path / "mlflow.db", moved / "mlflow.db")
    shutil.move(tmp_path / "mlruns", tmp_path / "mlruns-away")
    monkeypatch.chdir(moved)
    mlflow.set_tracking_uri(f"sqlite:///{moved / 'mlflow.db'}")
    assert main(["mechanisms"]) == 2
    err = capsys.readouterr().err
    assert "which does not exist: was the MLflow home" in err and "first" not in err


def test_validate_prints_every_reader_warning_including_unknown_genes(edit, capsys) -> None:
    root = edit("data_sv.txt", lambda t: t.replace("EML4\tALK", "EML4\tERG fusion"))
    root = edit("data_mutations.txt", lambda t: t.replace("CXCR4\t", "NOTAGENE1\t"))
    assert main(["validate", str(root)]) == 2  # a value read as missing is a problem
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "problem: data_sv.txt, line 2, column 'Site2_Hugo_Symbol'" in err
    assert "note: 1 gene symbol(s) are on no known panel" in err and "NOTAGENE1" in err
    assert "Cohort(" in captured.out
    # the tiny study has no allele columns: every class is the file's
    assert "variant class known for 100% of 8 mutation rows: 100% in the file, 0% inferred" in (
        captured.out)


def test_train_model_fits_the_experiments_final_model_alone(tmp_path: Path,
                                                           sample_study: Path) -> None:
    """Same population, audit and input policies as `run_experiment`, without CV or MLflow."""
    said: list[str] = []
    loaded = op.train_model(load_config(_config(tmp_path, sample_study)), log=said.append)
    model = loaded.model
    assert list(model.organs_)[:2] == ["LIVER", "LUNG"]
    assert len(model.unprofiled_as_absent) > 100  # leakage.toml [unprofiled] read_as = absent
    assert set(model.missing_as_type_median) == {"tmb", "fga", "aneuploidy"}
    assert any("leakage audit" in line for line in said)
    assert not (tmp_path / "mlflow.db").exists()
    features = loaded.builder.transform(op.load_study(sample_study))
    proba = model.predict_proba(features).to_numpy()
    assert ((proba > 0) & (proba < 1)).all()


def test_mechanisms_on_another_cohort_holds_the_model_fixed(liver_lung_bone, tmp_path: Path,
                                                            capsys) -> None:
    """A cohort the model was not trained on: computed there, with patient-bootstrap
    intervals; printed as a table or as JSON."""
    from organo_predict import save_bundle

    from ..conftest import write_planted_study

    builder, model, _ = liver_lung_bone
    bundle = save_bundle(builder, model, tmp_path / "bundle")
    study = write_planted_study(tmp_path / "planted", n=1500)
    assert main(["mechanisms", "--model", str(bundle), "--cohort", str(study), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["summary"]["model_intervals"].startswith("bootstrap over patients")
    egfr_bone = next(e for e in table["entries"] if e["id"] == "EGFR_LUAD_BONE")
    assert egfr_bone["n_carriers"] > 300 and egfr_bone["cohort"]["or_ci"][0] > 0
    assert egfr_bone["model_marginal"] is not None  # BONE is one of the model's organs
    brain = next(e for e in table["entries"] if e["id"] == "EGFR_LUAD_BRAIN")
    assert brain["verdict"]["model"] == "not modelled"  # the model has no CNS_BRAIN
    assert main(["mechanisms", "--model", str(bundle), "--cohort", str(study)]) == 0
    text = capsys.readouterr().out
    assert "Documented mechanisms in" in text and "EGFR_LUAD_BONE" in text


@pytest.mark.slow  # two small experiments
def test_folds_on_a_process_pool_give_the_same_metrics_as_one_at_a_time(
        tmp_path: Path, sample_study: Path, monkeypatch) -> None:
    """The folds and the final fit run as tasks on worker processes when there is more than
    one core; LightGBM's results do not depend on its thread count, so neither do ours."""
    from organo_predict import run_experiment

    config = load_config(_config(tmp_path, sample_study))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    pooled = run_experiment(config, tmp_path / "pooled", log=lambda _: None, use_mlflow=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one usable core: one fold at a time
    serial = run_experiment(config, tmp_path / "serial", log=lambda _: None, use_mlflow=False)
    for key in ("sites", "mechanisms"):  # as text: an untrained organ's NaN equals itself
        assert json.dumps(pooled.metrics[key], sort_keys=True) == json.dumps(
            serial.metrics[key], sort_keys=True)


@pytest.mark.slow  # a small experiment on each engine
def test_the_dask_engine_gives_the_local_engine_s_metrics(tmp_path: Path, sample_study: Path,
                                                          monkeypatch, capsys) -> None:
    """Organ x fold tasks on a LocalCluster of two worker processes, joined into the same
    models: the same metrics, out-of-fold and mechanism tables as the local engine."""
    pytest.importorskip("distributed")
    config = _config(tmp_path, sample_study)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    for engine in ("local", "dask"):
        assert main(["experiment", "--config", str(config), "--no-mlflow", "--engine", engine,
                     "--report-dir", str(tmp_path / engine)]) == 0
    assert "a LocalCluster of 2 worker process(es)" in capsys.readouterr().err
    local, dask = (json.loads((tmp_path / e / "metrics.json").read_text())
                   for e in ("local", "dask"))
    assert (local["engine"], dask["engine"]) == ("local", "dask")
    for key in ("sites", "mechanisms", "macro_within_type_auroc_main8"):
        assert json.dumps(local[key], sort_keys=True) == json.dumps(dask[key], sort_keys=True)


@pytest.mark.slow  # two experiments at once, each with its own MLflow store
def test_two_experiments_at_once_each_log_their_own_report_and_leave_one_whole(
        tmp_path: Path, sample_study: Path) -> None:
    import os
    import subprocess
    import sys

    from mlflow import MlflowClient

    shared = tmp_path / "shared-report"
    jobs = []
    for k, rate in enumerate((0.05, 0.2)):  # two runs whose numbers differ
        home = tmp_path / f"run{k}"
        home.mkdir()
        config = _config(home, sample_study, n_estimators=30, learning_rate=rate)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        env.pop("MLFLOW_TRACKING_URI", None)
        jobs.append((home, subprocess.Popen(
            [sys.executable, "-m", "organo_predict.cli", "experiment", "--config", str(config),
             "--report-dir", str(shared)], cwd=home, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)))
    headlines = []
    for home, job in jobs:
        _, err = job.communicate(timeout=600)
        assert job.returncode == 0, err
        client = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
        run = client.search_runs([client.get_experiment_by_name("small").experiment_id],
                                 "tags.mlflow.runName = 'small'")[0]
        logged = Path(client.download_artifacts(run.info.run_id, "report/report.md",
                                                str(home)))
        macro = run.data.metrics["macro_within_type_auroc_main8"]
        assert f"{macro:.3f}" in logged.read_text().split("**Macro within-type AUROC")[1][:40]
        headlines.append(logged.read_text())
    assert headlines[0] != headlines[1]
    # the folder holds one run's files, whole: its report.md is one of the two, and its
    # metrics.json is that same run's
    report = (shared / "report.md").read_text()
    assert report in headlines
    metrics = json.loads((shared / "metrics.json").read_text())
    assert f"{metrics['macro_within_type_auroc_main8']:.3f}" in report.split(
        "**Macro within-type AUROC")[1][:40]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".shared-report-")]
