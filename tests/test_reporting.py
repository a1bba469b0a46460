"""Reports: the per-organ rows, report.md, and files written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from organo_predict._evaluation import OrganMetrics
from organo_predict._reporting import atomic_write, json_default, organ_rows, report_markdown


def _metrics(organ: str, within: float) -> OrganMetrics:
    return OrganMetrics(
        organ=organ, n=1000, prevalence=0.3, auroc=0.75, auroc_ci=(0.74, 0.76),
        auroc_within_type=within, auroc_primary=0.74, auprc=0.5, brier=0.2, ece=0.01,
        calibration_slope=1.0, prior_auroc=0.7, prior_auroc_within_type=0.5,
        prior_auroc_primary=0.69, prior_auprc=0.45, prior_brier=0.21, clinical_auroc=0.72,
        clinical_auroc_within_type=0.55, gain_over_prior=0.05, gain_over_prior_ci=(0.04, 0.06),
        gain_within_type=within - 0.5, gain_within_type_ci=(within - 0.51, within - 0.49),
        per_type={"Breast Cancer": {"auroc": within, "n": 100}})


def test_report_markdown_leads_with_the_within_type_headline() -> None:
    sites = {"LIVER": _metrics("LIVER", 0.641), "BONE": _metrics("BONE", 0.604)}
    metrics = {"experiment": "default", "cohort": "msk_met_2021", "population": "metastatic",
               "n_patients": 17984, "n_features": 936,
               "macro_within_type_auroc_main8": 0.5875, "macro_prior_within_type_auroc_main8": 0.502,
               "concordance": {"tested": ["a"], "entries": [
                   {"id": "a", "organ": "LIVER", "direction": "up", "difference": 0.12,
                    "verdict": "agree", "reason": "carriers higher"}],
                   "agreement": 1.0, "agree": ["a"], "disagree": [], "neutral": [],
                   "min_effect": 0.01},
               "leakage": {"refused": [{"feature": "cna_x", "label": "LIVER",
                                        "detail": "missingness OR 9"}]}}
    rows = organ_rows(sites)
    assert [r["organ"] for r in rows] == ["LIVER", "BONE"]
    text = report_markdown(metrics, rows)
    assert "**Macro within-type AUROC, main 8 organs: 0.588** (subtype prior: 0.502)" in text
    assert "| LIVER | 0.300 | 0.750 [0.740, 0.760] | 0.641 | 0.500 | +0.141 [+0.131, +0.151]" \
        in text
    assert "| a | LIVER | up | +0.120 | agree: carriers higher |" in text
    assert "- `cna_x` -> LIVER: missingness OR 9" in text


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    atomic_write(tmp_path / "metrics.json", json.dumps({"x": np.float32(0.5), "ci": (1, 2)},
                                                       default=json_default))
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"x": 0.5, "ci": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_shap_figures_are_drawn_by_shap(luad_model, tmp_path: Path) -> None:
    from organo_predict import Explainer
    from organo_predict._concordance import concordance
    from organo_predict._reporting import write_shap_figures

    builder, model, x = luad_model
    explainer = Explainer(model, builder)
    part = x.iloc[:400]
    marker_shap = {o: explainer.marker_contributions(part, o)[0] for o in model.organs_}
    write_shap_figures(tmp_path, explainer, part, marker_shap, list(model.organs_),
                       concordance(explainer, part, marker_shap))
    assert (tmp_path / "shap_beeswarm.png").stat().st_size > 20_000
    assert (tmp_path / "concordance_heatmap.png").stat().st_size > 5_000
