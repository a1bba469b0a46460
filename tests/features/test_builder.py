"""Feature builder: panel-aware NaN, recipes from TOML, estimator contract."""

from __future__ import annotations

import pickle
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import organo_predict as op
from organo_predict import FeatureBuilder, FeatureError, LeakageError, load_study
from organo_predict._knowledge._feature_names import marker_of


def test_alteration_features_are_every_column_whose_nan_means_not_profiled(built) -> None:
    builder, x = built
    flags = builder.alteration_features_
    assert "mut_CXCR4" in flags and "amp_EGFR" in flags and "hotspot_EGFR_L858R" in flags
    context = set(x.columns) - set(flags)
    assert context >= {"cancer_type", "subtype", "tmb", "fga", "age", "sex"}
    assert not any(c.startswith(("mut_", "amp_", "del_", "sv_", "path_")) for c in context)


def test_features_are_float32_with_readable_names(built) -> None:
    builder, x = built
    assert set(x.dtypes) == {np.dtype("float32")}
    assert list(x.columns) == builder.feature_names_
    assert {"mut_KRAS", "amp_MET", "hotspot_EGFR_L858R", "path_RTK_RAS"} <= set(x.columns)
    assert marker_of("hotspot_EGFR_ex19del") == "EGFR" and marker_of("amp_MET") == "MET"


def test_transform_tolerates_unseen_genes_and_types(tiny_study: Path, edit) -> None:
    builder = FeatureBuilder(min_carriers=1).fit(load_study(tiny_study))
    root = edit("data_clinical_sample.txt", lambda t: t.replace("Colorectal Cancer", "Alien Cancer"))
    root = edit("data_mutations.txt", lambda t: t.replace("APC\t", "NEWGENE\t"))
    with pytest.warns(UserWarning):
        other = load_study(root)
    x = builder.transform(other)
    assert list(x.columns) == builder.feature_names_
    assert np.isnan(x.loc["S4", "cancer_type"])
    assert builder.unseen(other)["samples_unknown_cancer_type"] == 1


def test_unknown_panel_is_inferred_with_a_warning(tiny_study: Path, edit) -> None:
    builder = FeatureBuilder(min_carriers=1).fit(load_study(tiny_study))
    root = edit("data_gene_panel_matrix.txt", lambda t: t.replace("S4\tIMPACT410", "S4\tNEWPANEL"))
    with pytest.warns(op.CohortWarning, match="gene panel 'NEWPANEL' .* has no gene list"):
        other = load_study(root)
    with pytest.warns(op.CohortWarning, match="NEWPANEL"):
        x = builder.transform(other)
    assert x.loc["S4", "mut_APC"] == 1 and np.isnan(x.loc["S4", "mut_EGFR"])


def test_estimator_contract(built, tiny_study: Path) -> None:
    builder, x = built
    assert clone(builder).get_params() == builder.get_params()
    again = pickle.loads(pickle.dumps(builder)).transform(load_study(tiny_study))
    pd.testing.assert_frame_equal(again, x)


def test_denylisted_clinical_column_is_refused(tiny_study: Path) -> None:
    with pytest.raises(LeakageError, match="METASTATIC_SITE.*never be a model input"):
        FeatureBuilder(extra_clinical=["METASTATIC_SITE"]).fit(load_study(tiny_study))
    with pytest.raises(FeatureError, match="NOPE"):
        FeatureBuilder(extra_clinical=["NOPE"]).fit(load_study(tiny_study))


def test_every_recipe_entry_is_cited() -> None:
    folder = resources.files("organo_predict.recipes")
    for name in ("markers.toml", "gene_sets.toml", "leakage.toml"):
        data = tomllib.loads((folder / name).read_text())
        entries = [data] if name == "leakage.toml" else []
        for key, value in data.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                entries += value
            elif isinstance(value, dict) and key not in ("denylist", "audit"):
                entries.append(value)
        assert entries, name
        for entry in entries:
            assert entry.get("citation") and entry.get("rationale"), (name, entry.get("name"))


def test_unseen_genes_are_listed(tiny_study) -> None:
    import organo_predict as op

    cohort = op.load_study(tiny_study)
    builder = op.FeatureBuilder(min_carriers=1).fit(cohort.subset(["S1"]))
    assert builder.unseen_genes(cohort.subset(["S1"])) == []
    unseen = builder.unseen_genes(cohort)
    # CXCR4 is mutated in S3, and not on the IMPACT341 panel the builder was fitted on
    assert "CXCR4" in unseen and "EGFR" not in unseen and unseen == sorted(unseen)


def test_a_cancer_type_spelled_differently_gets_the_same_features(msk_features) -> None:
    # "prostate cancer" or "PRAD" was read as an unknown type (the pooled prior, no mechanism)
    import dataclasses

    from organo_predict import FeatureBuilder

    cohort, _ = msk_features
    builder = FeatureBuilder().fit(cohort)
    assert builder.match("cancer_type", "prostate cancer") == "Prostate Cancer"
    assert builder.match("cancer_type", "PRAD") == "Prostate Cancer"
    assert builder.match("cancer_type", "nsclc") == "Non-Small Cell Lung Cancer"
    assert builder.match("cancer_type", "Martian Cancer") is None
    assert builder.match("subtype", "luad") == "LUAD"
    some = cohort.subset(list(cohort.samples.index[:300]))
    respelled = dataclasses.replace(some, samples=some.samples.assign(
        CANCER_TYPE=some.samples["CANCER_TYPE"].str.lower()))
    pd.testing.assert_frame_equal(builder.transform(respelled), builder.transform(some))
    assert builder.unseen(respelled)["samples_unknown_cancer_type"] == 0


def test_the_builder_s_state_is_json_and_builds_the_same_features(tiny_study: Path) -> None:
    import json

    cohort = load_study(tiny_study)
    builder = FeatureBuilder(min_carriers=1).fit(cohort)
    again = FeatureBuilder.from_state(json.loads(json.dumps(builder.to_state())))
    assert again.get_params() == {**builder.get_params(), "extra_clinical": []}
    pd.testing.assert_frame_equal(again.transform(cohort), builder.transform(cohort))
    assert not hasattr(again, "n_features_in_")  # it counted outputs: gone, not restored


def test_named_rows_read_back_as_the_features_they_came_from(tiny_study: Path) -> None:
    """What an MLflow, Spark or JSON client sends (`transform_named`) reads back
    (`from_named`) as the features themselves, cancer types matched as a study's are."""
    cohort = load_study(tiny_study)
    builder = FeatureBuilder(min_carriers=1).fit(cohort)
    features = builder.transform(cohort)
    named = builder.transform_named(cohort)
    pd.testing.assert_frame_equal(builder.from_named(named), features)
    lower = named.assign(cancer_type=named["cancer_type"].str.lower())
    pd.testing.assert_frame_equal(builder.from_named(lower), features)
