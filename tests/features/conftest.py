"""What the feature tests share: the tiny study, built."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from organo_predict import FeatureBuilder, load_study


@pytest.fixture
def built(tiny_study: Path) -> tuple[FeatureBuilder, pd.DataFrame]:
    builder = FeatureBuilder(min_carriers=1)
    return builder, builder.fit_transform(load_study(tiny_study))
