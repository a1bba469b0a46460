"""Reports: the per-organ rows, report.md, and files written whole or not at all."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from organo_predict import ConfigError
from organo_predict._apps._reporting import (
    atomic_write,
    check_report_dir,
    json_default,
    organ_rows,
    report_markdown,
    staged_folder,
)
from organo_predict._evaluate._metrics import OrganMetrics


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
               "main_organs": ["LIVER", "BONE"], "n_splits": 3,
               "mechanisms": [
                   {"id": "a", "organ": "LIVER", "direction": "up", "n_carriers": 120,
                    "cohort": {"or": 1.8, "or_ci": [1.4, 2.3], "rate_diff": 0.12,
                               "rate_diff_ci": [0.08, 0.16], "p": 1e-5, "q": 2e-5},
                    "model_marginal": {"diff": 0.1, "ci": [0.05, 0.15]},
                    "attribution": {"diff": 0.0, "ci": [-0.1, 0.1]}, "reason": "",
                    "verdict": {"cohort": "replicated", "model": "reproduces",
                                "attribution": "carried by EGFR"}},
                   {"id": "b", "organ": "BONE", "direction": "down", "n_carriers": 3,
                    "cohort": None, "model_marginal": None, "attribution": None,
                    "reason": "3 carriers", "verdict": {"cohort": "untestable"}}],
               "mechanism_replication": {"entries": 2, "testable": 1, "replicated": 1,
                                         "opposite": 0, "reproduced_by_model": 1,
                                         "attributed_to_marker": 0,
                                         "model_intervals": "grouped jackknife"},
               "leakage": {"refused": [{"feature": "cna_x", "label": "LIVER",
                                        "detail": "missingness OR 9"}]}}
    rows = organ_rows(sites)
    assert [r["organ"] for r in rows] == ["LIVER", "BONE"]
    text = report_markdown(metrics, rows)
    # what the config says, not what the default's is: 2 main organs, 3 folds
    assert "**Macro within-type AUROC, main 2 organs: 0.588** (subtype prior: 0.502)" in text
    assert "3-fold cross-validation grouped by patient" in text
    assert "| LIVER | 0.300 | 0.750 [0.740, 0.760] | 0.641 | 0.500 | +0.141 [+0.131, +0.151]" \
        in text
    assert ("| a | up | 120 | 1.80 [1.40, 2.30] | 2e-05 | +0.120 [+0.080, +0.160] | "
            "+0.100 [+0.050, +0.150] | +0.000 [-0.100, +0.100] | replicated; model reproduces; "
            "carried by EGFR |") in text
    assert "| b | down | 3 | | | | | | untestable: 3 carriers |" in text
    assert "the cohort replicates 1 (opposite: 0); of those the model reproduces 1" in text
    assert "- `cna_x` -> LIVER: missingness OR 9" in text


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    atomic_write(tmp_path / "metrics.json", json.dumps({"x": np.float32(0.5), "ci": (1, 2)},
                                                       default=json_default))
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"x": 0.5, "ci": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_report_folder_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "reports" / "default"
    with staged_folder(final) as staging:
        assert staging.parent == final.parent and staging != final and not final.exists()
        (staging / "report.md").write_text("first")
        (staging / "stale.png").write_text("only the first run drew this")
    assert (final / "report.md").read_text() == "first"
    with pytest.raises(RuntimeError), staged_folder(final) as staging:
        (staging / "report.md").write_text("half-written")
        raise RuntimeError("killed midway")
    assert (final / "report.md").read_text() == "first"  # the failed run left nothing
    with staged_folder(final) as staging:
        (staging / "report.md").write_text("second")
    assert sorted(p.name for p in final.iterdir()) == ["report.md"]  # nothing of the first
    assert (final / "report.md").read_text() == "second"
    assert sorted(p.name for p in final.parent.iterdir()) == [".default.lock", "default"]


def test_runs_that_end_together_each_commit_a_complete_folder(tmp_path: Path) -> None:
    final = tmp_path / "default"
    start = threading.Barrier(8)

    def run(k: int) -> None:
        with staged_folder(final) as staging:
            for name in ("report.md", "metrics.json"):
                (staging / name).write_text(str(k))
            start.wait()  # all commit at once
    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (final / "report.md").read_text() == (final / "metrics.json").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".default-")] == []


def test_a_report_folder_in_the_way_of_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="afile exists and is not a folder"):
        check_report_dir(tmp_path / "afile")
    with pytest.raises(ConfigError, match="afile exists and is not a folder"):
        check_report_dir(tmp_path / "afile" / "deeper")
    check_report_dir(tmp_path / "new" / "deeper")  # to be made: fine


def test_a_value_that_is_not_estimable_prints_as_n_a_not_as_nan_with_an_interval() -> None:
    # evaluate printed "+nan [+0.000, +0.000]" for an organ with no within-type pairs
    from organo_predict._apps._terminal import skill_cells
    from organo_predict._base._formatting import interval, shown, signed_interval

    nan = float("nan")
    assert signed_interval(nan, [0.0, 0.0]) == "n/a"
    assert signed_interval(0.0121, [0.003, 0.021]) == "+0.012 [+0.003, +0.021]"
    assert interval(nan, [nan, nan]) == "n/a" and shown(None) == "n/a"
    cells = skill_cells("PLEURA", {"prevalence": 0.1, "auroc": 0.6, "auroc_ci": [nan, nan],
                                    "auroc_within_type": nan, "prior_auroc_within_type": nan,
                                    "gain_within_type": nan, "gain_within_type_ci": [0.0, 0.0]})
    assert cells == ["PLEURA", "0.100", "0.600", "n/a", "n/a", "n/a", "n/a"]
    assert not any("nan" in c for c in cells)


