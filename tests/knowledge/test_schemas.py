"""Strict schemas of the TOML files: the shipped ones pass; a misspelled key, a wrong type,
a value out of range or an unknown organ or marker is named by file, section and key."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from organo_predict import FeatureError
from organo_predict._base._errors import did_you_mean
from organo_predict._knowledge._mechanisms import known_markers, parse_mechanisms
from organo_predict._knowledge._schemas import (
    GeneSets,
    Leakage,
    Markers,
    Mechanisms,
    feature_error,
)

SHIPPED = {"markers.toml": Markers, "gene_sets.toml": GeneSets, "leakage.toml": Leakage,
           "mechanisms.toml": Mechanisms}


def _shipped(name: str) -> dict:
    return tomllib.loads((resources.files("organo_predict.recipes") / name).read_text())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_files_pass(name: str) -> None:
    feature_error(SHIPPED[name], _shipped(name), name)


def test_a_mechanism_with_an_unknown_organ_or_marker_is_refused() -> None:
    data = _shipped("mechanisms.toml")
    data["mechanism"][0]["organ"] = "CNS_BRIAN"
    with pytest.raises(FeatureError, match=r"mechanisms.toml, \[\[mechanism\]\] 1 "
                                           r"\(EGFR_LUAD_BRAIN\), key 'organ': unknown organ "
                                           r"'CNS_BRIAN'; did you mean 'CNS_BRAIN'\?"):
        parse_mechanisms(data, "mechanisms.toml", known_markers())
    data = _shipped("mechanisms.toml")
    data["mechanism"][0]["marker"] = "EGGFR"
    with pytest.raises(FeatureError, match=r"\[\[mechanism\]\] EGFR_LUAD_BRAIN, key 'marker': "
                                           r"unknown marker 'EGGFR'; did you mean 'EGFR'\?"):
        parse_mechanisms(data, "mechanisms.toml", known_markers())


def test_a_hotspot_without_its_pattern_names_the_entry() -> None:
    data = _shipped("markers.toml")
    del data["hotspot"][0]["pattern"]
    with pytest.raises(FeatureError, match=r"markers.toml, \[\[hotspot\]\] 1 \(KRAS G12C\): "
                                           r"key 'pattern' is missing"):
        feature_error(Markers, data, "markers.toml")


def test_misspelled_keys_and_values_out_of_range() -> None:
    sets = _shipped("gene_sets.toml")
    sets["gene_set"][1]["oncogene"] = sets["gene_set"][1].pop("oncogenes")
    with pytest.raises(FeatureError, match=r"\[\[gene_set\]\] 2 \(PI3K\): unknown key "
                                           r"'oncogene'; did you mean 'oncogenes'\?"):
        feature_error(GeneSets, sets, "gene_sets.toml")
    leak = _shipped("leakage.toml")
    leak["audit"]["separation_auroc"] = 0.4
    with pytest.raises(FeatureError, match=r"leakage.toml, \[audit\], key 'separation_auroc': "
                                           r"Input should be greater than 0.5"):
        feature_error(Leakage, leak, "leakage.toml")
    markers = _shipped("markers.toml")
    markers["clinical"]["primary_site_min_count"] = "50"
    with pytest.raises(FeatureError, match=r"\[clinical\], key 'primary_site_min_count': "
                                           r"Input should be a valid integer"):
        feature_error(Markers, markers, "markers.toml")


def test_did_you_mean_only_for_a_near_miss() -> None:
    assert did_you_mean("n_split", ["n_splits", "seed"]) == "; did you mean 'n_splits'?"
    assert did_you_mean("colour", ["n_splits", "seed"]) == ""


def test_the_model_section_covers_the_models_settings() -> None:
    """[model] lists OrganotropismModel's settings by hand (to check their ranges): a new
    setting must be added there too. The ones left out are the experiment's own."""
    from organo_predict import OrganotropismModel
    from organo_predict._knowledge._schemas import _Model

    experiment_sets = {"features", "categorical", "unprofiled_as_absent",
                       "missing_as_type_median", "random_state",
                       "rounds"}  # chosen by the experiment's cross-validation
    assert set(_Model.model_fields) == set(OrganotropismModel().get_params()) - experiment_sets
