"""Patient profiles: validated, and turned into the same features a cBioPortal study gives."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from organo_predict import PatientProfile, ProfileError, profiles_from_cohort
from organo_predict._cohort._study import reference_panels
from organo_predict._features._profiles import cohort_from_profiles
from organo_predict._knowledge._recipes import load_recipes


def test_profiles_of_real_patients_give_the_studys_own_features(msk_features) -> None:
    cohort, _ = msk_features
    from organo_predict import FeatureBuilder

    rng = np.random.default_rng(1)
    ids = list(rng.choice(cohort.samples.index, 400, replace=False))
    study = cohort.subset(ids)
    builder = FeatureBuilder().fit(cohort)
    from_study = builder.transform(study).to_numpy()
    from_profiles = builder.transform(
        cohort_from_profiles(profiles_from_cohort(study), reference_panels())).to_numpy()
    same = (from_study == from_profiles) | (np.isnan(from_study) & np.isnan(from_profiles))
    names = np.asarray(builder.feature_names_)
    cna = np.array([n.startswith(("amp_", "del_")) for n in names])
    assert same[:, ~cna].all(), names[~cna][~same[:, ~cna].all(axis=0)]
    # copy number agrees wherever the study profiled the whole panel (a profile cannot say
    # "this one gene was not called"; the study's partial rows are the known exception)
    complete = study.cna.reindex(columns=builder.cna_genes_).notna().all(axis=1).to_numpy()
    assert complete.sum() > 100
    assert same[complete][:, cna].all()


@pytest.mark.parametrize(("change", "expected"), [
    ("p.L858R", "Missense_Mutation"), ("E746_A750del", "In_Frame_Del"),
    ("R213*", "Nonsense_Mutation"), ("T1556fs", "Frame_Shift_Del"),
    ("Y772_A775dup", "In_Frame_Ins"), ("X125_splice", "Splice_Site"), ("G12=", "Silent"),
    ("mystery", None)])
def test_protein_change_implies_a_maf_class(change: str, expected: str | None) -> None:
    assert load_recipes().class_of_protein_change(change) == expected


@pytest.fixture(scope="module")
def builder(msk_features):
    from organo_predict import FeatureBuilder

    return FeatureBuilder().fit(msk_features[0])


@pytest.fixture(scope="module")
def features(builder):
    def _features(profile: dict) -> dict[str, float]:
        cohort = cohort_from_profiles([PatientProfile.model_validate(profile)],
                                      reference_panels())
        return {k: float(v) for k, v in builder.transform(cohort).iloc[0].items()}

    return _features


def test_unmeasured_profiles_are_unknown_and_measured_ones_are_zero(features) -> None:
    base = {"cancer_type": "Non-Small Cell Lung Cancer", "subtype": "LUAD",
            "mutations": [{"gene": "EGFR", "protein_change": "L858R"}]}
    unmeasured = features({**base, "copy_number": [{"gene": "MET", "value": 2}],
                            "fusions": None})
    measured = features({**base, "copy_number": [{"gene": "MET", "value": 2}],
                          "fusions": [{"gene1": "EML4", "gene2": "ALK"}]})
    assert measured["mut_EGFR"] == 1 and measured["hotspot_EGFR_L858R"] == 1
    assert measured["amp_MET"] == 1 and measured["amp_EGFR"] == 0
    assert measured["mut_KRAS"] == 0  # on IMPACT468, not mutated
    assert measured["sv_ALK"] == 1
    assert np.isnan(unmeasured["sv_ALK"])
    no_cna = features({**base, "copy_number": None})
    assert np.isnan(no_cna["amp_MET"]) and no_cna["mut_EGFR"] == 1


def test_custom_panel_leaves_genes_off_it_unknown(features) -> None:
    values = features({"cancer_type": "Breast Cancer", "panel_genes": ["PIK3CA", "TP53"],
                        "mutations": [{"gene": "PIK3CA", "protein_change": "H1047R"}]})
    assert values["mut_PIK3CA"] == 1 and values["mut_TP53"] == 0
    assert np.isnan(values["mut_KRAS"])  # not on this panel: unknown, not wild-type


def test_unknown_panel_names_the_field() -> None:
    profile = PatientProfile(cancer_type="Breast Cancer", gene_panel="NOT_A_PANEL")
    with pytest.raises(ProfileError, match="unknown gene panel 'NOT_A_PANEL'") as info:
        cohort_from_profiles([profile, profile], reference_panels(), loc=("body", "patients"))
    assert info.value.loc == ("body", "patients", 0, "gene_panel")


@pytest.mark.parametrize("bad", [
    {"cancer_type": "X", "patient_id": "P-1"},  # extra fields are refused
    {"cancer_type": ""},
    {"cancer_type": "X", "age": -1},
    {"cancer_type": "X", "copy_number": [{"gene": "MET", "value": 3}]},
    {"cancer_type": "X", "mutations": [{"gene": "EGFR; DROP TABLE"}]},
    {"cancer_type": "X", "mutations": [{"gene": "EGFR"}] * 5001},
])
def test_invalid_profiles_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        PatientProfile.model_validate(bad)
