"""Organ flags read as labels, and the population a run models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import Cohort, labels_from_samples, population_rows


def test_a_label_column_the_user_names_must_be_in_the_study(tmp_path) -> None:
    from organo_predict import CohortError, labels_from_cohort, load_study

    from ..conftest import write_own_study

    cohort = load_study(write_own_study(tmp_path / "own", n=200))
    found = labels_from_cohort(cohort, ["BONE", "LIVER"], {"BONE": "EVER_MET_SITE_BONE"})
    assert list(found.columns) == ["BONE"]  # LIVER's default column is simply absent
    with pytest.raises(CohortError, match=r"the BONE label column 'EVER_MET_SITE_BONES' is in "
                                          r"neither .*did you mean 'EVER_MET_SITE_BONE'\?"):
        labels_from_cohort(cohort, ["BONE"], {"BONE": "EVER_MET_SITE_BONES"})


def test_organ_flags_y_n_are_read_and_other_values_named() -> None:
    import warnings

    from organo_predict import CohortWarning, labels_from_samples

    samples = pd.DataFrame({"DMETS_DX_LIVER": ["Y", "n", "Yes", "maybe", None, "MAYBE"]})
    with pytest.warns(CohortWarning, match=r"DMETS_DX_LIVER: 2 value\(s\) that are not a flag "
                      r"\(first 'maybe'"):
        labels = labels_from_samples(samples)
    np.testing.assert_array_equal(labels["LIVER"].to_numpy(),
                                  [1.0, 0.0, 1.0, np.nan, np.nan, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels_from_samples(pd.DataFrame({"DMETS_DX_LIVER": ["Yes", "No", None]}))


def _cohort(samples: pd.DataFrame) -> Cohort:
    return Cohort(study_id="t", patients=pd.DataFrame(), samples=samples,
                  mutations=pd.DataFrame(), cna=None, structural_variants=pd.DataFrame(),
                  panel_matrix=pd.DataFrame(), panels={})


def test_the_population_is_known_labels_and_metastatic_unless_all_labelled() -> None:
    samples = pd.DataFrame({"DMETS_DX_LIVER": ["Yes", "No", "No", None],
                            "METASTATIC_PATIENT": ["Yes", "Yes", "No", "Yes"]},
                           index=["a", "b", "c", "d"])
    cohort = _cohort(samples)
    labels = labels_from_samples(samples)
    assert population_rows(cohort, labels, "metastatic").tolist() == [True, True, False, False]
    assert population_rows(cohort, labels, "all_labelled").tolist() == [True, True, True, False]
    without = _cohort(samples.drop(columns="METASTATIC_PATIENT"))  # any flag: metastatic
    assert population_rows(without, labels, "metastatic").tolist() == [True, False, False, False]
