"""The report's sections on intervals, decision curves and subgroups, from metrics.json."""

from __future__ import annotations

from pathlib import Path

from organo_predict._apps._publication import (
    decision_lines,
    interval_lines,
    subgroup_lines,
    write_decision_figure,
)

CHECK = {"n": 900, "n_bins": 10, "bins_within": 9, "max_abs_z": 2.1, "mean_width": 0.012,
         "point_outside": 0.8, "passed": True}
CURVE = {"scope": "pooled", "n": 900, "prevalence": 0.3, "thresholds": [0.125, 0.3, 0.5625],
         "model": [0.2, 0.05, 0.01], "prior": [0.19, 0.04, 0.0], "treat_all": [0.2, 0.0, -0.6],
         "gain_over_prior_per_100": 0.9, "gain_over_prior_per_100_ci": [0.2, 1.6],
         "share_of_range_best": 0.667}
ROW = {"variable": "sex", "level": "Female", "n": 1215, "positives": 400,
       "auroc_within_type": 0.575, "auroc_within_type_ci": [0.55, 0.6],
       "prior_auroc_within_type": 0.493, "gain_within_type": 0.082,
       "gain_within_type_ci": [0.052, 0.113], "calibration_in_the_large": 0.008,
       "calibration_in_the_large_ci": [-0.016, 0.034]}


def test_the_interval_table_counts_the_types_that_pass() -> None:
    intervals = {"method": "Venn-ABERS", "min_patients": 200, "criterion": "bins",
                 "organs": {"LIVER": {"pooled": CHECK, "types": {
                     "A": CHECK, "B": {**CHECK, "passed": False, "mean_width": 0.05}}}}}
    text = "\n".join(interval_lines(intervals))
    assert "| LIVER | 9/10 (pass) | 1.2% | 1/2 | B 5.0% | 80% |" in text
    assert interval_lines({}) == []


def test_the_decision_table_gives_the_pooled_gain_and_each_type_s() -> None:
    decision = {"range": "odds x3", "gain": "per 100", "types": ["A", "B"],
                "organs": {"LIVER": {"pooled": CURVE,
                                     "A": {**CURVE, "gain_over_prior_per_100": -0.25}}}}
    text = "\n".join(decision_lines(decision))
    assert "| LIVER | 12%–56% | +0.90 [+0.20, +1.60] | 67% | -0.25 | – |" in text


def test_the_subgroup_tables_show_auroc_gain_and_calibration_per_level() -> None:
    subgroups = {"variables": {"sex": "SEX"},
                 "organs": {"LIVER": [ROW], "LUNG": [{**ROW, "auroc_within_type": None}]}}
    text = "\n".join(subgroup_lines(subgroups, ["LIVER", "LUNG", "BONE"]))
    assert "| subgroup | n | LIVER | LUNG |" in text  # BONE has no rows: no column
    assert "| sex: Female | 1,215 | 0.575 (+0.082 [+0.052, +0.113]) | – |" in text
    assert "| sex: Female | 1,215 | +0.008 [-0.016, +0.034] | +0.008 [-0.016, +0.034] |" in text


def test_the_figure_is_drawn_for_the_organs_with_curves(tmp_path: Path) -> None:
    write_decision_figure(tmp_path, {"organs": {"LIVER": {"pooled": CURVE}}}, ["LIVER", "LUNG"])
    assert (tmp_path / "decision_curves.png").stat().st_size > 10_000
    write_decision_figure(tmp_path / "none", {"organs": {}}, ["LIVER"])
    assert not (tmp_path / "none").exists()
