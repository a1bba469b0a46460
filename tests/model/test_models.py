"""Per-organ models: the prior residual, unprofiled genes read as absent, refits, bundles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import OrganotropismModel
from organo_predict._base._stats import auroc

GENES = [f"mut_G{i}" for i in range(30)]
NEW_PANEL_ONLY = GENES[:15]  # genes an older panel lacks: NaN for its samples


def _panel_era_cohort(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame,
                                                             np.ndarray]:
    """Rare mutations carrying no signal; the label follows only the panel (the sequencing
    era): older-panel patients, NaN on half the genes, metastasize more."""
    rng = np.random.default_rng(seed)
    old_panel = rng.random(n) < 0.4
    x = pd.DataFrame((rng.random((n, len(GENES))) < 0.01).astype(np.float32), columns=GENES)
    x.loc[old_panel, NEW_PANEL_ONLY] = np.nan
    x["cancer_type"] = np.float32(0)
    x["subtype"] = np.float32(0)
    y = pd.DataFrame({"LIVER": (rng.random(n) < np.where(old_panel, 0.6, 0.3)).astype(float)})
    return x, y, old_panel


def _model(**params: object) -> OrganotropismModel:
    return OrganotropismModel(organs=["LIVER"], categorical=("cancer_type", "subtype"),
                              min_positives=10, n_estimators=100, **params)


def test_unprofiled_as_absent_blinds_the_trees_to_the_panel() -> None:
    x, y, _ = _panel_era_cohort()
    x_test, y_test, _ = _panel_era_cohort(seed=1)
    truth = y_test["LIVER"].to_numpy() == 1
    free = _model().fit(x, y)
    # free to route NaN, the trees learn the era from the missingness
    assert auroc(truth, free.decision_function(x_test)[:, 0])[0] > 0.6
    blind = _model(unprofiled_as_absent=GENES).fit(x, y)
    assert abs(auroc(truth, blind.decision_function(x_test)[:, 0])[0] - 0.5) < 0.05
    # "not profiled" and "not carried" now give the same answer
    np.testing.assert_array_equal(blind.decision_function(x_test),
                                  blind.decision_function(x_test.fillna(0)))


def test_inputs_keep_the_built_values_for_explanations() -> None:
    x, y, old_panel = _panel_era_cohort(n=1000)
    model = _model(unprofiled_as_absent=GENES).fit(x, y)
    before = x.copy()
    inputs = model.inputs(x)
    column = model.feature_names_.index(NEW_PANEL_ONLY[0])
    assert np.isnan(inputs.as_built[old_panel, column]).all()
    assert (inputs.data[old_panel, column] == 0).all()
    pd.testing.assert_frame_equal(x, before)  # the caller's frame is left as it was
    plain = _model().fit(x, y).inputs(x)
    assert plain.as_built is plain.data  # nothing read differently: no second copy


def test_unknown_column_in_the_policy_is_ignored_not_fatal() -> None:
    x, y, _ = _panel_era_cohort(n=800)
    model = _model(unprofiled_as_absent=[*GENES, "mut_NOT_A_FEATURE"]).fit(x, y)
    assert np.isfinite(model.decision_function(x)).all()


@pytest.mark.parametrize("policy", [(), GENES])
def test_prior_residual_is_deterministic(policy) -> None:
    x, y, _ = _panel_era_cohort(n=1500)
    first = _model(unprofiled_as_absent=policy).fit(x, y).decision_function(x)
    second = _model(unprofiled_as_absent=policy).fit(x, y).decision_function(x)
    np.testing.assert_array_equal(first, second)


# --------------------------------------------------------------------------- missing summaries


def _summaries_cohort(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two cancer types with different aneuploidy; the label follows aneuploidy, which
    every training patient has (as in MSK-MET)."""
    rng = np.random.default_rng(seed)
    cancer_type = (rng.random(n) < 0.5).astype(np.float32)
    aneuploidy = rng.normal(np.where(cancer_type == 1, 12.0, 4.0), 2.0).clip(0).astype(np.float32)
    x = pd.DataFrame({"aneuploidy": aneuploidy, "tmb": rng.gamma(2.0, 2.0, n).astype(np.float32),
                      "cancer_type": cancer_type, "subtype": cancer_type})
    y = pd.DataFrame({"LIVER": (rng.random(n) < 1 / (1 + np.exp(-(aneuploidy - 8) / 2)))
                      .astype(float)})
    return x, y


def test_a_missing_summary_reads_as_its_cancer_type_median() -> None:
    x, y = _summaries_cohort()
    model = _model(missing_as_type_median=("aneuploidy", "tmb")).fit(x, y)
    medians = model.summary_medians_["aneuploidy"]["by_type"]
    assert abs(medians["1"] - 12.0) < 0.5 and abs(medians["0"] - 4.0) < 0.5
    test = x.iloc[:200].copy()
    dropped = test.assign(aneuploidy=np.nan)
    typical = test.assign(aneuploidy=test["cancer_type"].map(
        {0.0: medians["0"], 1.0: medians["1"]}).astype(np.float32))
    before = dropped.copy()
    np.testing.assert_array_equal(model.decision_function(dropped),
                                  model.decision_function(typical))
    pd.testing.assert_frame_equal(dropped, before)  # the caller's frame is left alone
    assert np.isnan(model.inputs(dropped).as_built[:, 0]).all()  # explanations: not measured
    unseen = dropped.assign(cancer_type=np.float32(7))  # a type never seen: overall median
    overall = model.summary_medians_["aneuploidy"]["overall"]
    np.testing.assert_array_equal(
        model.decision_function(unseen),
        model.decision_function(unseen.assign(aneuploidy=np.float32(overall))))
    # without the policy the trees, which never saw a NaN there, read it as 0
    plain = _model().fit(x, y)
    np.testing.assert_array_equal(plain.decision_function(dropped),
                                  plain.decision_function(dropped.fillna(0)))
    assert not np.allclose(plain.decision_function(dropped), plain.decision_function(typical))


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
