"""How the model reads its inputs: unprofiled flags as absent, missing summaries as the
type's median, the values as built kept for explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from organo_predict._base._stats import auroc

from .test_models import GENES, NEW_PANEL_ONLY, _model, _panel_era_cohort, _summaries_cohort


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
