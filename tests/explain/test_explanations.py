"""What an explanation says: each driver's status, the baseline and context defined, the
exact walk to the probability."""

from __future__ import annotations

import numpy as np
import pytest

from organo_predict import Explainer
from organo_predict._explain._explanations import Driver


@pytest.fixture(scope="module")
def fitted(luad_model):
    return luad_model


def test_every_driver_says_what_the_patient_has_of_it() -> None:
    # "- TP53 -0.023" for a patient whose TP53 is not altered read as "mutant TP53 lowers risk"
    def status(marker: str, values: dict) -> str:
        return Driver(marker, -0.02, values).status

    assert status("EGFR", {"mut_EGFR": 1.0, "hotspot_EGFR_L858R": 1.0, "amp_EGFR": 0.0}) == (
        "altered: mut_EGFR, hotspot_EGFR_L858R")
    assert status("TP53", {"mut_TP53": 0.0, "del_TP53": 0.0}) == "not altered"
    assert status("TP53", {"mut_TP53": 0.0, "del_TP53": None}) == "not altered where profiled"
    assert status("MET", {"mut_MET": None, "amp_MET": float("nan")}) == "not profiled"
    assert status("TP53 pathway", {"path_TP53": 0.0}) == "not altered"
    assert status("HR status", {"status_HR": 1.0}) == "positive"
    assert status("HR status", {"status_HR": None}) == "not profiled"
    assert status("tmb", {"tmb": 2.2183}) == "value 2.22"
    assert status("fga", {"fga": None}) == "not measured"


def test_the_text_defines_its_baseline_and_context_and_gives_each_driver_its_status(
        fitted) -> None:
    builder, model, x = fitted
    text = Explainer(builder, model).explain(x.iloc[:1], organs=["LIVER"])[0].render()
    header = next(line for line in text.splitlines() if line.startswith("LIVER: "))
    assert "baseline for this cancer type and subtype" in header
    assert "clinical context (sex, age, primary site)" in header
    drivers = [line for line in text.splitlines() if line.startswith(("  + ", "  - "))]
    assert drivers and all("(" in line and ")" in line for line in drivers)


def test_the_explanation_walks_to_the_probability_on_the_probability_scale(fitted) -> None:
    """Log-odds alone left "+0.16 context" unreadable: each organ also gives the exact
    probabilities along the sum (expectation, + context, + markers = the prediction)."""
    builder, model, x = fitted
    explanation = Explainer(builder, model).explain(x.iloc[:1], organs=["LIVER"])[0]
    liver = explanation.organ("LIVER")
    steps = liver.probability_steps
    assert steps["with_markers"] == liver.probability
    assert abs(steps["with_context"] - 1 / (1 + np.exp(
        -(liver.expected_log_odds + liver.context_contribution)))) < 1e-12
    assert liver.to_dict()["probability_steps"] == steps
    assert f"with the markers {liver.probability:.1%}" in explanation.render()
