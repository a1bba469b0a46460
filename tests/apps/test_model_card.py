"""The model card: written from a run's metrics.json, TRIPOD+AI items that apply."""

from __future__ import annotations

from organo_predict._apps._model_card import model_card


def test_the_model_card_is_written_from_the_run_s_own_metrics() -> None:
    """TRIPOD+AI items that apply, each from metrics.json: data, outcome and its follow-up
    caveat, the unprofiled policy, the leakage audit, within-type skill with intervals,
    calibration, and what is not reported yet; a missing figure reads n/a, never 0."""
    site = {"prevalence": 0.3, "auroc_within_type": 0.61, "prior_auroc_within_type": 0.5,
            "gain_within_type": 0.11, "gain_within_type_ci": [0.09, 0.13],
            "auroc_primary": 0.7, "calibration_slope": 1.0, "ece": 0.01}
    metrics = {"experiment": "e", "cohort": "c", "data_fingerprint": "f" * 40,
               "population": "metastatic", "n_patients": 1234, "n_samples": 1234,
               "n_features": 99, "main_organs": ["LIVER"],
               "sites": {"LIVER": site, "SKIN": {**site, "auroc_within_type": float("nan")}},
               "macro_within_type_auroc_main8": 0.61,
               "macro_prior_within_type_auroc_main8": 0.5,
               "leakage": {"policy": "p/unprofiled=absent", "refused": [], "n_rows": 1234,
                           "unprofiled": {"read_as": "absent", "n_features": 90}},
               "fidelity": {"pooled_ratio": 0.64, "pooled_ratio_ci": [0.58, 0.71],
                            "n_pooled": 21, "residual_slope": {"LIVER": 0.99}},
               "rounds": {"final": {"LIVER": 272}}, "mechanism_replication": {"replicated": 21}}
    card = model_card(metrics)
    for heading in ("## Intended use", "## Data", "## Predictors and missing data",
                    "## Leakage audit", "## Model", "## Performance", "## Known limits"):
        assert heading in card
    assert "Research use only" in card and "1,234 patients" in card
    assert "| **LIVER** | 0.300 | 0.610 | 0.500 | +0.110 [+0.090, +0.130] |" in card
    assert "| SKIN | 0.300 | n/a |" in card
    assert "0.64 [0.58, 0.71]" in card and "LIVER 272" in card
    assert "Decision curves" in card and "follow-up" in card.lower()
    assert card.count("not reported by this run") == 3  # no intervals, curves nor subgroups


def test_the_card_s_intervals_decision_curves_and_subgroups_are_metrics_json_s() -> None:
    from .test_publication import CHECK, CURVE, ROW

    metrics = {"main_organs": ["LIVER", "LUNG"], "sites": {},
               "intervals": {"method": "Venn-ABERS, Mondrian", "criterion": "bins",
                             "largest_types": ["A", "B"],
                             "organs": {o: {"pooled": {**CHECK, "mean_width": w},
                                            "types": {"A": CHECK,
                                                      "B": {**CHECK, "passed": o == "LIVER"}}}
                                        for o, w in (("LIVER", 0.012), ("LUNG", 0.02))}},
               "decision_curves": {"range": "odds x3", "gain": "per 100", "types": [],
                                   "organs": {"LIVER": {"pooled": CURVE}}},
               "subgroups": {"variables": {"sex": "SEX"},
                             "organs": {"LIVER": [ROW], "LUNG": [
                                 {**ROW, "auroc_within_type": 0.625, "gain_within_type": 0.02,
                                  "calibration_in_the_large": -0.05}]}}}
    card = model_card(metrics)
    assert "not reported by this run" not in card
    assert "pooled, 2 of 2 main organs pass" in card and "3 of 4 organ-type scopes" in card
    assert "Mean pooled width 1.2%–2.0%" in card
    assert "| LIVER | 12%–56% | +0.90 [+0.20, +1.60] | 67% |" in card
    assert "| sex: Female | 1,215 | 0.600 | +0.051 | -0.050 |" in card
    assert "the largest is sex Female (1,215 patients), LUNG -0.050 observed minus" in card
