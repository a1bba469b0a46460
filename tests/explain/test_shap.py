"""Explanations as shap objects: exact, equal to shap.TreeExplainer, drawable by shap.plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import shap  # noqa: E402

from organo_predict import Explainer, ModelError  # noqa: E402


@pytest.fixture(scope="module")
def explained(liver_lung_bone):
    builder, model, x = liver_lung_bone
    return Explainer(builder, model), model, x.iloc[:60]


def test_feature_level_values_equal_shap_tree_explainer(explained) -> None:
    """A second oracle beside LightGBM's pred_contrib: shap's own TreeExplainer on the same
    boosters, scaled by the organ's Platt slope (the calibrated log-odds)."""
    explainer, model, x = explained
    got = explainer.shap_values(x, "LIVER", level="feature")
    inputs = model.inputs(x)
    fit = model.fits_["LIVER"]
    reference = shap.TreeExplainer(fit.booster).shap_values(inputs.data)
    reference = reference[1] if isinstance(reference, list) else reference
    np.testing.assert_allclose(got.values, fit.calibration[0] * reference, atol=1e-9)
    assert got.feature_names == list(model.feature_names_)
    categorical = np.isin(got.feature_names, ["cancer_type", "subtype", "primary_site"])
    assert (np.isnan(got.data[:, ~categorical]).sum()
            == np.isnan(inputs.as_built[:, ~categorical]).sum())  # not profiled kept


def test_values_add_up_to_the_models_log_odds_for_every_organ(explained) -> None:
    explainer, model, x = explained
    every = explainer.shap_values(x)  # markers, all organs: an output axis
    assert every.values.shape == (len(x), len(explainer.markers), len(model.organs_))
    assert every.output_names == list(model.organs_)
    total = every.base_values + every.values.sum(axis=1)
    np.testing.assert_allclose(total, model.decision_function(x), atol=1e-9)


def test_the_explanations_render_through_shap_plots(explained, tmp_path) -> None:
    explainer, _, x = explained
    one = explainer.shap_values(x, "BONE")
    for draw in (lambda: shap.plots.waterfall(one[0], show=False),
                 lambda: shap.plots.beeswarm(one, show=False),
                 lambda: shap.plots.heatmap(one, show=False),
                 lambda: shap.plots.scatter(one[:, "TP53"], show=False),
                 lambda: shap.plots.bar(one, show=False),
                 lambda: shap.plots.violin(one, show=False),
                 lambda: shap.plots.force(one[0], matplotlib=True, show=False)):
        draw()
        plt.savefig(tmp_path / "plot.png")
        plt.close("all")
    assert (tmp_path / "plot.png").stat().st_size > 1000
    # the all-organs object has an output axis: the README says to pick one organ first
    every = explainer.shap_values(x)
    with pytest.raises(ValueError, match="beeswarm plot does not support"):
        shap.plots.beeswarm(every, show=False)
    shap.plots.beeswarm(every[:, :, list(every.output_names).index("BONE")], show=False)
    plt.close("all")


def test_plots_print_category_names_and_statuses_not_codes(explained) -> None:
    """A waterfall reads display_data: "Breast Cancer = cancer_type", not "15 = cancer_type";
    a flag is altered / not altered / not profiled; no float32 noise (0.0653999969...)."""
    import re

    explainer, _, x = explained
    one = explainer.shap_values(x, "BONE")
    names = list(one.feature_names)
    kind, gene, tmb = names.index("cancer_type"), names.index("TP53"), names.index("tmb")
    assert np.isnan(one.data[:, kind]).all()  # no false order for beeswarm's colours
    decoded = explainer.category_names(x, "cancer_type")
    assert list(one.display_data[:, kind]) == [str(v) for v in decoded]
    flags = one.data[:, gene]
    assert set(one.display_data[flags == 1, gene]) <= {"altered"}
    assert set(one.display_data[flags == 0, gene]) <= {"not altered"}
    assert set(one.display_data[np.isnan(flags), gene]) <= {"not profiled"}
    picked = shap.Explanation(values=one.values[0, [kind, gene, tmb]],
                              base_values=one.base_values[0],
                              data=one.data[0, [kind, gene, tmb]],
                              display_data=one.display_data[0, [kind, gene, tmb]],
                              feature_names=["cancer_type", "TP53", "tmb"])
    shap.plots.waterfall(picked, show=False)
    labels = [t.get_text() for t in plt.gca().get_yticklabels()]
    plt.close("all")
    assert f"{decoded[0]} = cancer_type" in labels
    assert any(label.endswith("= TP53") and label.split(" = ")[0] in
               {"altered", "not altered", "not profiled"} for label in labels)
    assert not any(re.search(r"\d\.\d{6,}", label) for label in labels)
    every = explainer.shap_values(x, level="feature")  # all organs: the same strings
    assert every.display_data.shape == every.data.shape


def test_an_unknown_organ_or_level_is_named(explained) -> None:
    explainer, _, x = explained
    with pytest.raises(ModelError, match="organ 'SPLEEN'"):
        explainer.shap_values(x, "SPLEEN")
    with pytest.raises(ModelError, match="level must be"):
        explainer.shap_values(x, level="gene")  # type: ignore[arg-type]
