"""Feature names: markers, groups, and categories as the names clients send."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from organo_predict._knowledge import _feature_names
from organo_predict._knowledge._feature_names import (
    ALTERATION_PREFIXES,
    ALTERATIONS,
    CARRIER_FILTERED_PREFIXES,
    FeatureKind,
    categories_from_strings,
    categories_to_strings,
    feature_groups,
    is_context,
    kind_of,
    marker_of,
    register,
)


def test_features_map_to_their_markers() -> None:
    assert [marker_of(f) for f in ("mut_EGFR", "amp_EGFR", "hotspot_EGFR_L858R", "path_PI3K",
                                   "status_HER2", "extra_PURITY", "tmb")] == [
        "EGFR", "EGFR", "EGFR", "PI3K pathway", "HER2 status", "PURITY", "tmb"]
    assert feature_groups(["mut_KRAS", "tmb", "hotspot_KRAS_G12C"]) == {
        "KRAS": ["mut_KRAS", "hotspot_KRAS_G12C"], "tmb": ["tmb"]}


def test_category_codes_round_trip_through_names() -> None:
    categories = {"cancer_type": ["Breast Cancer", "Melanoma"], "subtype": ["IDC"],
                  "primary_site": []}
    builder = SimpleNamespace(categories_=categories,
                              feature_names_=["cancer_type", "subtype", "primary_site", "tmb"],
                              match=lambda name, v: v.title() if v.title() in categories[name]
                              else None)
    codes = pd.DataFrame({"cancer_type": [1.0, np.nan], "subtype": [0.0, 0.0],
                          "primary_site": [np.nan, np.nan], "tmb": [3.5, 1.0]},
                         dtype=np.float32)
    names = categories_to_strings(codes, builder)
    assert names["cancer_type"].tolist() == ["Melanoma", ""]
    back = categories_from_strings(names.drop(columns="tmb"), builder)
    np.testing.assert_array_equal(back["cancer_type"], [1.0, np.nan])
    lower = categories_from_strings(names.assign(cancer_type=["melanoma", "mars"]), builder)
    np.testing.assert_array_equal(lower["cancer_type"], [1.0, np.nan])  # matched, or unknown
    assert back["tmb"].isna().all()  # a missing column reads as missing


def test_the_registry_says_what_each_kind_of_name_is() -> None:
    assert ALTERATION_PREFIXES == ("mut_", "trunc_", "missense_", "amp_", "del_", "sv_",
                                   "dosage_", "hotspot_", "path_")
    assert ALTERATION_PREFIXES[:-1] == CARRIER_FILTERED_PREFIXES  # pathways: always kept
    assert ALTERATIONS["loss"] == ("mut_", "trunc_", "del_")
    assert ALTERATIONS["positive"] == ("status_",)
    assert list(ALTERATIONS) == ["mutation", "amplification", "deletion", "loss", "fusion",
                                 "any", "positive"]
    assert marker_of("sbs_C_T") == marker_of("indel_share") == "mutational spectrum"
    assert is_context("cancer_type") and is_context("extra_PURITY")
    assert not is_context("mut_EGFR") and not is_context("tmb") and kind_of("tmb") is None


def test_a_kind_that_would_make_names_ambiguous_is_refused() -> None:
    with pytest.raises(ValueError, match="overlaps 'mut_'"):
        register(FeatureKind("mu"))
    with pytest.raises(ValueError, match="unknown alteration"):
        register(FeatureKind("loh_", evidences=("heterozygosity",)))


def test_a_registered_kind_is_read_wherever_names_are(monkeypatch) -> None:
    """What design.md's worked example relies on: one registration, and the marker,
    the explanation's grouping and the carrier test follow."""
    monkeypatch.setattr(_feature_names, "KINDS", dict(_feature_names.KINDS))
    register(FeatureKind("loh_", alteration=True, carrier_filtered=True,
                         evidences=("loss",)))
    assert marker_of("loh_PTEN") == "PTEN"
    assert feature_groups(["mut_PTEN", "loh_PTEN"]) == {"PTEN": ["mut_PTEN", "loh_PTEN"]}
