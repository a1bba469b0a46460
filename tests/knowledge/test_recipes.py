"""The declarative domain knowledge: shipped TOML parses, every entry is cited, bad values named."""

from __future__ import annotations

import pytest

from organo_predict import FeatureError
from organo_predict._knowledge._recipes import load_recipes


def test_shipped_recipes_are_cited_and_complete() -> None:
    recipes = load_recipes()
    assert {s.name for s in recipes.summaries} == {"tmb", "fga", "aneuploidy"}
    assert all(s.when_missing == "cancer_type_median" for s in recipes.summaries)
    assert all(s.citation and s.rationale for s in recipes.summaries)
    assert recipes.leakage.unprofiled_read_as == "absent"
    assert recipes.leakage.denies("METASTATIC_SITE") and not recipes.leakage.denies("TMB")
    assert recipes.class_of_protein_change("p.R213*") == "Nonsense_Mutation"


def test_a_bad_missing_policy_is_refused_naming_the_summary(monkeypatch) -> None:
    import organo_predict._knowledge._recipes as recipes_module

    real = recipes_module.read_toml

    def patched(name: str):
        data = real(name)
        if name == "markers.toml":
            data = {**data, "summary": [{**data["summary"][0], "when_missing": "zero"}]}
        return data

    load_recipes.cache_clear()
    monkeypatch.setattr(recipes_module, "read_toml", patched)
    try:
        with pytest.raises(FeatureError, match=r"markers.toml, \[\[summary\]\] 1 \(tmb\), key 'when_missing': "
                           r"Input should be 'cancer_type_median' or 'learned' \(got 'zero'\)"):
            load_recipes()
    finally:
        monkeypatch.undo()
        load_recipes.cache_clear()


def test_the_cancer_type_spellings_name_each_shipped_type_once() -> None:
    from organo_predict._knowledge._recipes import load_cancer_types, spelling

    aliases = load_cancer_types()
    assert aliases[spelling("PRAD")] == "Prostate Cancer"
    assert aliases[spelling(" non-small  cell lung CANCER ")] == "Non-Small Cell Lung Cancer"
    import organo_predict as op

    shipped = set(op.datasets.msk_met().samples["CANCER_TYPE"].dropna())
    assert set(aliases.values()) == shipped  # every type of the cohort, and no other
