"""Subgroup performance: levels from the cohort's clinical columns, within-type AUROC and
calibration in the large with bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import load_study, subgroup_performance
from organo_predict._evaluate._metrics import within_type_auroc
from organo_predict._evaluate._subgroups import subgroup_context, subgroup_metrics


def test_the_context_reads_sex_age_band_panel_and_sample_type(tiny_study) -> None:
    cohort = load_study(tiny_study)
    context = subgroup_context(cohort, pd.Index(["S1", "S2", "S3", "S4", "S9"]))
    assert context.loc["S1"].to_dict() == {"sex": "Male", "age": "50-64", "panel": "IMPACT341",
                                           "sample type": "primary"}
    assert context.loc["S2", "sample type"] == "metastasis"
    assert context.loc["S3", "age"] == "<50" and context.loc["S4", "age"] == "65-74"
    assert (context.loc["S9"] == "unknown").all()  # a sample the cohort does not hold


def test_levels_carry_within_type_auroc_and_calibration_with_intervals() -> None:
    rng = np.random.default_rng(0)
    n = 3000
    cancer_type = rng.choice(["a", "b"], n)
    sex = rng.choice(["Female", "Male"], n)
    prior = np.where(cancer_type == "a", 0.2, 0.4)
    signal = rng.normal(0, 1, n)
    # informative for women, noise for men; men's rate is 10 points under the prediction
    logit = np.log(prior / (1 - prior)) + np.where(sex == "Female", 1.0, 0.0) * signal
    p_true = 1 / (1 + np.exp(-logit))
    labels = rng.random(n) < np.where(sex == "Male", p_true - 0.1, p_true)
    model = 1 / (1 + np.exp(-(np.log(prior / (1 - prior)) + signal)))
    context = pd.DataFrame({"sex": sex, "tiny": np.where(np.arange(n) < 50, "x", "y")})
    rows = {(r.variable, r.level): r for r in subgroup_performance(
        labels, model, prior, cancer_type, context, n_boot=100)}
    assert ("tiny", "x") not in rows  # under 100 patients: not reported
    women, men = rows["sex", "Female"], rows["sex", "Male"]
    female = sex == "Female"
    assert women.auroc_within_type == pytest.approx(
        within_type_auroc(labels[female], model[female], cancer_type[female])[0])
    assert women.gain_within_type_ci[0] > 0.1  # the prior ranks no one within a type
    assert men.gain_within_type_ci[0] < 0.03 < women.gain_within_type_ci[0]
    low, high = men.calibration_in_the_large_ci
    assert high < -0.05 and low <= men.calibration_in_the_large <= high
    assert women.calibration_in_the_large_ci[0] < 0 < women.calibration_in_the_large_ci[1]


def test_a_level_without_a_testable_type_reads_nan_not_zero() -> None:
    n = 300
    labels = np.arange(n) < 10  # 10 positives: no type has 20
    context = pd.DataFrame({"sex": ["Female"] * n})
    row = subgroup_performance(labels, np.linspace(0, 1, n), np.full(n, 0.1),
                               np.array(["a"] * n), context)[0]
    assert np.isnan(row.auroc_within_type) and np.isnan(row.gain_within_type_ci[0])
    assert row.to_dict()["auroc_within_type"] is None
    assert np.isfinite(row.calibration_in_the_large)


def test_metrics_have_one_list_of_levels_per_organ() -> None:
    rng = np.random.default_rng(3)
    n = 400
    y = pd.DataFrame({"LIVER": (rng.random(n) < 0.4).astype(float)})
    context = pd.DataFrame({"sex": rng.choice(["Female", "Male"], n)})
    out = subgroup_metrics(y, rng.random((n, 1)), np.full((n, 1), 0.4), np.array(["a"] * n),
                           context, ["LIVER"], n_boot=20)
    assert set(out["variables"]) == {"sex", "age", "panel", "sample type"}
    assert {r["level"] for r in out["organs"]["LIVER"]} == {"Female", "Male"}
