"""Explanations: marker sums are exact, drivers are ranked one way and cite the knowledge base."""

from __future__ import annotations

import json

import numpy as np
import pytest

from organo_predict import Explainer, FeatureError
from organo_predict._explain._explanations import NO_MECHANISM
from organo_predict._knowledge._mechanisms import KnowledgeBase, load_mechanisms, parse_mechanisms

ORGANS = ["CNS_BRAIN", "BONE", "LIVER"]


@pytest.fixture(scope="module")
def fitted(luad_model):
    """A three-organ model on all metastatic lung adenocarcinomas plus 3,000 other patients."""
    return luad_model


def test_marker_contributions_sum_to_the_models_log_odds(fitted) -> None:
    builder, model, x = fitted
    explainer = Explainer(builder, model)
    for rows in (x.iloc[:5], x.iloc[:40], x):  # compiled (few rows) and per-pattern paths
        logit = model.decision_function(rows)
        for j, organ in enumerate(ORGANS):
            contrib, baseline = explainer.marker_contributions(rows, organ)
            assert contrib.shape == (len(rows), len(explainer.markers))
            np.testing.assert_allclose(baseline + contrib.sum(1), logit[:, j], atol=1e-9)


def test_explanation_decomposes_exactly_and_keeps_context_apart(fitted) -> None:
    builder, model, x = fitted
    explainer = Explainer(builder, model)
    proba = model.predict_proba(x.iloc[:3])
    for i, explanation in enumerate(explainer.explain(x.iloc[:3], top_k=500)):
        for item in explanation.organs:
            assert item.probability == pytest.approx(proba[item.organ].iloc[i], abs=1e-12)
            drivers = sum(d.contribution for d in item.drivers_up + item.drivers_down)
            total = item.expected_log_odds + item.context_contribution + drivers
            # top_k=500 lists every marker above min_contribution; the rest are < 1e-4 each
            assert total == pytest.approx(item.log_odds, abs=1e-4 * len(explainer.markers))
            assert set(item.context) >= {"cancer_type", "subtype", "sex", "age"}
            assert not {d.marker for d in item.drivers_up} & set(item.context)
    json.dumps([e.to_dict() for e in explainer.explain(x.iloc[:2])])


def test_egfr_mutant_luad_brain_explanation_cites_the_egfr_mechanism(fitted) -> None:
    builder, model, x = fitted
    explainer = Explainer(builder, model)
    subtype = explainer.category_names(x, "subtype")
    carriers = x[(subtype == "LUAD") & (x["mut_EGFR"].to_numpy() == 1)]
    assert len(carriers) > 100
    explanations = explainer.explain(carriers.iloc[:200], top_k=5, organs=["CNS_BRAIN"])
    cited = []
    for explanation in explanations:
        brain = explanation.organ("CNS_BRAIN")
        for driver in brain.drivers_up:
            if driver.marker == "EGFR":
                ids = {m.id for m in driver.mechanisms}
                assert "EGFR_LUAD_BRAIN" in ids
                match = next(m for m in driver.mechanisms if m.id == "EGFR_LUAD_BRAIN")
                assert match.carrier is True and match.consistent is True
                assert "Nguyen" in match.citation
                cited.append(explanation.sample_id)
    # EGFR is an upward brain driver, citing its mechanism, for most EGFR-mutant LUAD
    assert len(cited) >= 0.8 * len(explanations)
    text = explanations[0].render(["CNS_BRAIN"])
    assert "EGFR_LUAD_BRAIN" in text and "CNS_BRAIN" in text


def test_drivers_without_an_entry_say_so(fitted) -> None:
    builder, model, x = fitted
    explainer = Explainer(builder, model, knowledge=KnowledgeBase("empty", "none", ()))
    text = explainer.explain(x.iloc[:1], organs=["LIVER"])[0].render()
    assert NO_MECHANISM in text


def test_knowledge_base_entries_are_complete_and_cited() -> None:
    kb = load_mechanisms()
    ids = {m.id for m in kb.mechanisms}
    assert len(ids) == len(kb.mechanisms)
    for needed in ("EGFR_LUAD_BRAIN", "EGFR_LUAD_BONE", "KRAS_LUAD_PLEURA", "STK11_LUAD_ADRENAL",
                   "KRAS_CRC_LUNG", "APC_CRC_LIVER", "SMAD4_CRC_LIVER", "PTEN_PRAD_LIVER",
                   "AR_PRAD_BONE", "RB1_PRAD_LIVER", "ESR1_HRBC_LIVER", "HR_BC_BONE",
                   "HER2_BC_BRAIN", "ERBB2_ESCA_LUNG", "TP53_PAAD_LIVER", "CXCR4_BONE",
                   "MET_LIVER"):
        assert needed in ids
    for m in kb.mechanisms:
        assert m.citation and m.mechanism.endswith(".")
    assert {m.evidence for m in kb.mechanisms if m.marker in ("CXCR4", "MET", "HGF")} == {
        "expression"}


def test_a_bad_knowledge_base_entry_names_the_file_and_the_entry() -> None:
    good = {"id": "X", "marker": "EGFR", "alteration": "mutation", "organ": "LIVER",
            "direction": "up", "cancer_types": ["*"], "evidence": "genomic",
            "mechanism": "m.", "citation": "c"}
    header = {"rationale": "r", "citation": "c"}
    assert len(parse_mechanisms({**header, "mechanism": [good]}, "kb.toml").mechanisms) == 1
    with pytest.raises(FeatureError, match=r"kb.toml, \[\[mechanism\]\] 1 \(X\), key "
                                           r"'direction': Input should be 'up' or 'down'"):
        parse_mechanisms({**header, "mechanism": [{**good, "direction": "sideways"}]}, "kb.toml")
    with pytest.raises(FeatureError, match=r"kb.toml, \[\[mechanism\]\] 1 \(X\), key "
                                           r"'citation': String should have at least 1"):
        parse_mechanisms({**header, "mechanism": [{**good, "citation": ""}]}, "kb.toml")
    with pytest.raises(FeatureError, match="duplicate id"):
        parse_mechanisms({**header, "mechanism": [good, good]}, "kb.toml")


def test_cli_explain_from_a_bundle(fitted, tmp_path, capsys) -> None:
    from organo_predict import save_bundle
    from organo_predict.cli import main

    builder, model, x = fitted
    # what the training run found about each mechanism travels in the model's metadata
    found = "replicated in msk_met_2021: OR 2.00 [1.50, 2.60]"
    bundle = save_bundle(builder, model, tmp_path / "bundle",
                         metadata={"mechanism_replication": {"EGFR_LUAD_BRAIN": found}})
    explainer = Explainer(builder, model)
    subtype = explainer.category_names(x, "subtype")
    sample = str(x.index[(subtype == "LUAD") & (x["mut_EGFR"].to_numpy() == 1)][0])
    assert main(["explain", sample, "--model", str(bundle), "--organ", "cns_brain"]) == 0
    text = capsys.readouterr().out
    assert sample in text and "CNS_BRAIN" in text and "LIVER" not in text
    assert "[EGFR_LUAD_BRAIN]" in text and found in text
    assert main(["explain", sample, "--model", str(bundle), "--json", "--top", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {o["organ"] for o in data["organs"]} == set(ORGANS)
    assert all(len(o["drivers_up"]) <= 2 for o in data["organs"])
    assert main(["explain", "NOT-A-SAMPLE", "--model", str(bundle)]) == 2
    assert "NOT-A-SAMPLE" in capsys.readouterr().err
    assert main(["explain", sample, "--model", str(tmp_path / "nowhere")]) == 2
    assert "no such bundle folder" in capsys.readouterr().err


@pytest.mark.slow  # draws 9 figures
def test_cli_explain_draws_shap_waterfalls(fitted, tmp_path, capsys) -> None:
    from organo_predict import save_bundle
    from organo_predict.cli import main

    builder, model, x = fitted
    bundle = save_bundle(builder, model, tmp_path / "bundle")
    sample = str(x.index[0])
    one = tmp_path / "brain.png"
    assert main(["explain", sample, "--model", str(bundle), "--organ", "cns_brain",
                 "--plot", str(one)]) == 0
    assert one.stat().st_size > 5000
    capsys.readouterr()
    assert main(["explain", sample, "--model", str(bundle), "--plot",
                 str(tmp_path / "all.png")]) == 0
    # one file, not one per organ: the main organs' waterfalls side by side
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["all.png", "brain.png"]
    import matplotlib.image

    grid = matplotlib.image.imread(tmp_path / "all.png")
    single = matplotlib.image.imread(one)
    assert grid.shape[0] > 1.5 * single.shape[0] and grid.shape[1] > 1.5 * single.shape[1]
    assert "waterfall plot of LIVER, BONE, CNS_BRAIN" in capsys.readouterr().err
    assert main(["explain", sample, "--model", str(bundle), "--plot",
                 str(tmp_path / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_every_probability_carries_its_interval_in_text_and_json(with_intervals, tmp_path,
                                                                  capsys) -> None:
    """A bundle with intervals: `explain` prints the calibrated range beside each
    probability and its JSON carries it; the explainer exposes the fitted intervals."""
    from organo_predict import save_bundle
    from organo_predict.cli import main

    builder, model, x = with_intervals
    bundle = save_bundle(builder, model, tmp_path / "bundle")
    explainer = Explainer(builder, model)
    assert explainer.intervals is model.intervals_
    sample = str(x.index[0])
    low, high = model.predict_interval(x.loc[[sample]])
    assert main(["explain", sample, "--model", str(bundle), "--json"]) == 0
    organs = {o["organ"]: o for o in json.loads(capsys.readouterr().out)["organs"]}
    for organ, o in organs.items():
        assert o["interval"] == pytest.approx(
            {"low": low.loc[sample, organ], "high": high.loc[sample, organ]}, abs=1e-12)
    assert main(["explain", sample, "--model", str(bundle), "--organ", "CNS_BRAIN"]) == 0
    text = capsys.readouterr().out
    brain = organs["CNS_BRAIN"]["interval"]
    assert (f"calibrated within type: {100 * brain['low']:.1f}%-{100 * brain['high']:.1f}%"
            in text)


def test_a_model_without_intervals_says_none_rather_than_inventing_one(fitted) -> None:
    builder, model, x = fitted
    explanation = Explainer(builder, model).explain(x.iloc[:1], top_k=1)[0]
    assert all(o.interval is None for o in explanation.organs)
    assert explanation.to_dict()["organs"][0]["interval"] is None


def test_the_old_argument_order_is_refused_by_name(fitted) -> None:
    """Explainer took (model, builder) while save_bundle and load_bundle have (builder,
    model); the order is now the pipeline's everywhere, and the old one fails loudly."""
    builder, model, _ = fitted
    with pytest.raises(TypeError, match=r"Explainer\(builder, model\): the fitted "
                                        r"FeatureBuilder comes first"):
        Explainer(model, builder)


def test_one_carrier_rule_for_cohorts_and_for_each_driver() -> None:
    from organo_predict._explain._explainer import carrier_status

    nan = np.nan
    values = np.array([[1, 0], [0, 0], [nan, 0], [nan, nan], [nan, 1]], dtype=np.float32)
    np.testing.assert_array_equal(carrier_status(values), [1, 0, 0, nan, 1])
    assert np.isnan(carrier_status(np.zeros((1, 0), np.float32))[0])  # no flag: unknown


def test_one_condition_rule_whether_the_model_has_the_feature_or_not() -> None:
    from organo_predict._explain._explainer import condition_holds
    from organo_predict._knowledge._mechanisms import load_mechanisms

    conditional = next(m for m in load_mechanisms().mechanisms if m.condition)
    unconditional = next(m for m in load_mechanisms().mechanisms if not m.condition)
    assert condition_holds(np.array([1.0, 0.0, np.nan]), conditional, 3).tolist() == [
        True, False, False]
    assert condition_holds(None, conditional, 2).tolist() == [False, False]
    assert condition_holds(None, unconditional, 2).tolist() == [True, True]
