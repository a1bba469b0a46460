"""Feature names: markers, groups, and categories as the names clients send."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from organo_predict._knowledge._feature_names import (
    categories_from_strings,
    categories_to_strings,
    feature_groups,
    marker_of,
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
