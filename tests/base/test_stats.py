"""The project's AUROC."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from organo_predict._base._stats import auroc


def test_auroc_equals_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.3
    score = np.round(rng.random(500) + y * 0.3, 1)  # many ties
    assert float(auroc(y, score)[0]) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
