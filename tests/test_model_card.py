"""The model card: written from a run's metrics.json, TRIPOD+AI items that apply."""

from __future__ import annotations

from organo_predict._model_card import model_card


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
