"""Your own cohort: a model evaluated and recalibrated on a labelled cohort it was not
trained on; a study from another institution (own labels, own panel) end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import organo_predict as op
from organo_predict._evaluate._external import evaluate_model, recalibrate_model
from organo_predict.cli import main

from ..conftest import own_panel_file, write_own_study

ORGANS = ["LIVER", "LUNG", "BONE"]


@pytest.fixture(scope="module")
def held_out(msk_features, liver_lung_bone):
    """The liver/lung/bone model (trained on the first 4,000 labelled patients) and 3,000
    labelled patients after them, which it never saw."""
    cohort, _ = msk_features
    builder, model, _ = liver_lung_bone
    labels = op.labels_from_samples(cohort.samples)[ORGANS]
    rows = np.flatnonzero(labels.notna().all(axis=1).to_numpy())[4000:7000]
    return op.LoadedModel(builder, model, {}, "test-model"), cohort.subset(
        cohort.samples.index[rows])


def test_evaluate_on_held_out_patients_is_the_direct_computation(held_out) -> None:
    loaded, cohort = held_out
    evaluation = evaluate_model(loaded, cohort, n_bootstrap=100)
    metastatic = (cohort.samples["METASTATIC_PATIENT"] == "Yes").to_numpy()
    x = loaded.builder.transform(cohort)[metastatic]
    y = op.labels_from_samples(cohort.samples)[ORGANS][metastatic]
    direct = loaded.model.predict_proba(x)
    assert evaluation.n_samples == int(metastatic.sum())
    for organ in ORGANS:
        site = evaluation.sites[organ]
        assert site.auroc == pytest.approx(roc_auc_score(y[organ], direct[organ]), abs=1e-9)
        assert site.auroc_ci[0] <= site.auroc <= site.auroc_ci[1]
        assert 0.55 < site.auroc_within_type < 0.8  # skill within type, on unseen patients
        assert evaluation.calibration_in_the_large[organ] == pytest.approx(
            y[organ].mean() - direct[organ].mean(), abs=1e-9)
    # fidelity of the fixed model: its contrasts are those of its predictions on this cohort
    fidelity = evaluation.fidelity
    assert fidelity.predictions == "fixed model, external cohort"
    assert set(fidelity.residual_slope) == set(ORGANS)
    assert fidelity.entries and all(e.organ in ORGANS for e in fidelity.entries)
    entry = fidelity.entries[0]
    assert entry.ratio == pytest.approx(entry.predicted / entry.observed)
    from organo_predict._apps._reporting import evaluation_metrics

    metrics = evaluation_metrics(evaluation, {})
    assert metrics["fidelity"]["entries"][0]["id"] == entry.id
    # decision curves and subgroups of the user's cohort, on the fixed model's predictions
    from organo_predict import net_benefit
    from organo_predict._evaluate._decision_curves import threshold_range

    liver = metrics["decision_curves"]["organs"]["LIVER"]["pooled"]
    thresholds = threshold_range(y["LIVER"].mean())
    assert liver["thresholds"] == pytest.approx(thresholds, abs=1e-4)
    assert liver["model"] == pytest.approx(
        net_benefit(y["LIVER"].to_numpy() == 1, direct["LIVER"].to_numpy(), thresholds),
        abs=1e-5)
    levels = {(r["variable"], r["level"]) for r in metrics["subgroups"]["organs"]["LIVER"]}
    assert {("sample type", "primary"), ("sample type", "metastasis")} <= levels


def test_recalibration_fixes_calibration_in_the_large_and_keeps_shap_additive(held_out) -> None:
    loaded, cohort = held_out
    rng = np.random.default_rng(0)
    samples = cohort.samples.copy()
    for organ in ORGANS:  # another institution, more metastases recorded everywhere
        column = samples[f"DMETS_DX_{organ}"]
        flip = (column == "No") & (rng.random(len(samples)) < 0.3)
        samples[f"DMETS_DX_{organ}"] = column.where(~flip, "Yes")
    shifted = replace(cohort, samples=samples)
    before = evaluate_model(loaded, shifted, n_bootstrap=20)
    assert all(before.calibration_in_the_large[o] > 0.1 for o in ORGANS)
    result = recalibrate_model(loaded, shifted)
    assert set(result.updates) == set(ORGANS) and loaded.model.fits_ is not result.model.fits_
    after = evaluate_model(replace(loaded, model=result.model), shifted, n_bootstrap=20)
    for organ in ORGANS:
        assert abs(after.calibration_in_the_large[organ]) <= 0.01, organ
        # a monotone update of the log-odds leaves the ranking as it was
        assert after.sites[organ].auroc == pytest.approx(before.sites[organ].auroc, abs=1e-9)
    # explanations stay additive: the slope scales the SHAP values
    x = loaded.builder.transform(shifted.subset(list(shifted.samples.index[:50])))
    explainer = op.Explainer(loaded.builder, result.model)
    contributions, baseline = explainer.marker_contributions(x, "LIVER")
    np.testing.assert_allclose(baseline + contributions.sum(axis=1),
                               result.model.decision_function(x)[
                                   :, list(result.model.organs_).index("LIVER")], atol=1e-9)


@pytest.mark.slow  # an experiment with CV, a training, four commands
def test_another_institutions_study_trains_validates_evaluates_and_scores(
        tmp_path: Path, capsys) -> None:
    """EVER_MET_SITE_* 1/0 labels through [labels]; a 50-gene panel the study names but does
    not define, given with --panel (and [cohort] panels)."""
    study = write_own_study(tmp_path / "own", n=1500, seed=1)
    panel = own_panel_file(tmp_path / "own50.txt")
    assert main(["validate", str(study)]) == 2  # OWN50 has no gene list: a problem
    assert "OWN50" in capsys.readouterr().err
    assert main(["validate", str(study), "--panel", f"OWN50={panel}"]) == 0
    capsys.readouterr()
    config = tmp_path / "own.toml"
    config.write_text(f"""
name = "own"
[cohort]
source = "{study}"
panels = {{ OWN50 = "{panel}" }}
[labels]
BONE = "EVER_MET_SITE_BONE"
CNS_BRAIN = "EVER_MET_SITE_BRAIN"
LIVER = "EVER_MET_SITE_LIVER"
[leakage]
allow = ["cancer_type", "subtype"]
on_refusal = "drop"
[model]
organs = ["BONE", "CNS_BRAIN", "LIVER", "LUNG"]
n_estimators = 40
[evaluation]
n_splits = 3
n_bootstrap = 20
""")
    assert main(["experiment", "--config", str(config), "--no-mlflow",
                 "--report-dir", str(tmp_path / "rep")]) == 0
    said = capsys.readouterr()
    assert "LUNG: no label column (DMETS_DX_LUNG) in the study; not trained" in said.err + said.out
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert set(metrics["sites"]) == {"BONE", "CNS_BRAIN", "LIVER"}
    assert metrics["sites"]["CNS_BRAIN"]["auroc_within_type"] > 0.6  # the planted EGFR effect
    trained = op.train_model(op.load_config(config), log=lambda _: None)
    bundle = op.save_bundle(trained.builder, trained.model, tmp_path / "bundle")
    other = write_own_study(tmp_path / "other", n=1200, seed=2)  # same institution, new patients
    labels = ["--label", "BONE=EVER_MET_SITE_BONE", "--label", "cns_brain=EVER_MET_SITE_BRAIN",
              "--label", "LIVER=EVER_MET_SITE_LIVER"]
    assert main(["evaluate", str(other), "--model", str(bundle), "--panel", f"OWN50={panel}",
                 "--no-mlflow", "--report-dir", str(tmp_path / "eval"), *labels]) == 0
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert set(evaluated["sites"]) == {"BONE", "CNS_BRAIN", "LIVER"}
    assert evaluated["sites"]["CNS_BRAIN"]["auroc"] > 0.6
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "calibration in the large" in report and "## Decision curves" in report
    assert (tmp_path / "eval" / "decision_curves.png").is_file()
    assert main(["score", str(other), "--model", str(bundle), "--panel", f"OWN50={panel}",
                 "--out", str(tmp_path / "scores.parquet")]) == 0
    assert len(pd.read_parquet(tmp_path / "scores.parquet")) == 1200
    capsys.readouterr()
    assert main(["recalibrate", str(other), "--model", str(bundle), "--bundle",
                 str(tmp_path / "recal"), "--panel", f"OWN50={panel}", *labels]) == 0
    _, recalibrated, metadata = op.load_bundle(tmp_path / "recal")
    assert metadata["recalibrated_on"] and set(metadata["recalibration"]) == {
        "BONE", "CNS_BRAIN", "LIVER"}
    assert main(["recalibrate", str(other), "--model", str(bundle), "--alias",
                 "champion", *labels]) == 2
    assert "never takes the champion alias" in capsys.readouterr().err


def test_flags_name_what_is_wrong(tmp_path: Path, capsys) -> None:
    study = write_own_study(tmp_path / "own", n=60)
    assert main(["validate", str(study), "--panel", "OWN50"]) == 2
    assert "--panel OWN50: use NAME=FILE" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("EGFR\nnot a gene!\n")
    assert main(["validate", str(study), "--panel", f"OWN50={bad}"]) == 2
    assert "bad.txt, line 2" in capsys.readouterr().err
    assert main(["evaluate", str(study), "--label", "BONNE=X", "--no-mlflow"]) == 2
    assert "did you mean 'BONE'" in capsys.readouterr().err
