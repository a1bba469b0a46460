"""Metrics: AUROC with ties and weights, within cancer type, calibration, grouped folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict._base._stats import auroc
from organo_predict._evaluate._metrics import (
    calibration_slope,
    cv_splits,
    expected_calibration_error,
    sample_context,
    within_type_auroc,
)


def test_within_type_auroc_removes_what_cancer_type_explains() -> None:
    """Pooled, a score that only knows the cancer type looks skilled; within type it is 0.5."""
    rng = np.random.default_rng(1)
    cancer_type = np.repeat(np.array(["A", "B"]), 1000)
    y = rng.random(2000) < np.where(cancer_type == "A", 0.7, 0.1)
    type_only = np.where(cancer_type == "A", 0.7, 0.1) + rng.normal(0, 1e-9, 2000)
    assert float(auroc(y, type_only)[0]) > 0.75
    within, per_type = within_type_auroc(y, type_only, cancer_type)
    assert abs(within - 0.5) < 0.06 and set(per_type) == {"A", "B"}


def test_calibration_of_a_calibrated_score() -> None:
    rng = np.random.default_rng(2)
    p = rng.random(20000)
    y = rng.random(20000) < p
    assert expected_calibration_error(y, p) < 0.02
    assert calibration_slope(y, p) == pytest.approx(1.0, abs=0.1)


def test_folds_keep_patients_together_and_balance_cancer_types() -> None:
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(600), 2)  # two samples per patient
    strata = np.repeat(rng.choice(["A", "B", "C"], 600), 2)
    splits = cv_splits(strata, groups, n_splits=5, seed=0)
    assert len(splits) == 5
    tested = np.concatenate([test for _, test in splits])
    assert sorted(tested) == list(range(1200))  # every row tested once
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        share = np.mean(strata[test] == "A")
        assert abs(share - np.mean(strata == "A")) < 0.05


def test_sample_context_reads_cancer_type_and_primary_with_defaults() -> None:
    samples = pd.DataFrame({"CANCER_TYPE": ["Breast Cancer", "Melanoma"],
                            "SAMPLE_TYPE": ["PRIMARY", "Metastasis"]})
    cancer_type, primary = sample_context(samples)
    assert list(cancer_type) == ["Breast Cancer", "Melanoma"] and list(primary) == [True, False]
    bare_type, bare_primary = sample_context(pd.DataFrame(index=[0, 1]))
    assert list(bare_type) == ["unknown", "unknown"] and not bare_primary.any()


def test_the_largest_types_are_those_with_most_rows_ties_by_name() -> None:
    from organo_predict._evaluate._metrics import largest_types

    kinds = np.array(["b", "a", "c", "c", "a", "b", "d"])
    assert largest_types(kinds, 3) == ["a", "b", "c"]
    assert largest_types(kinds, 1) == ["a"]
