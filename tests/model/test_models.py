"""Per-organ models: the prior residual, unprofiled genes read as absent, refits, bundles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import OrganotropismModel

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
