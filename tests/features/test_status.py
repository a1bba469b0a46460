"""Receptor status from a study's own wording; TMB from mutations when a study has none."""

from __future__ import annotations

import numpy as np

from organo_predict import PatientProfile
from organo_predict._cohort._study import reference_panels
from organo_predict._features._profiles import cohort_from_profiles
from organo_predict._features._status import receptor_status, tmb_from_mutations
from organo_predict._knowledge._recipes import load_recipes


def test_receptor_status_is_read_only_for_the_cancer_types_it_applies_to() -> None:
    profiles = [PatientProfile(cancer_type="Breast Cancer", hr_status="Positive"),
                PatientProfile(cancer_type="Non-Small Cell Lung Cancer", hr_status="Positive"),
                PatientProfile(cancer_type="Breast Cancer", hr_status="Negative"),
                PatientProfile(cancer_type="Breast Cancer")]
    cohort = cohort_from_profiles(profiles, reference_panels())
    recipes = load_recipes()
    hr = next(r for r in recipes.receptors if r.name == "HR")
    status = receptor_status(cohort, hr, cohort.clinical(recipes.cancer_type_columns))
    np.testing.assert_array_equal(status, [1.0, np.nan, 0.0, np.nan])


def test_tmb_from_mutations_per_profiled_megabase() -> None:
    recipes = load_recipes()
    mut = np.array([[1, 0, np.nan], [1, 1, 1]], dtype=np.float32)
    on_panel = np.array([[True, True, False], [True, True, True]])
    tmb = tmb_from_mutations(mut, on_panel, recipes)
    assert tmb[0] == np.float32(1 / (2 * recipes.tmb_mb_per_gene))
    assert tmb[1] == np.float32(3 / recipes.tmb_exome_mb)  # every gene profiled: an exome
