"""Inflation limits: a budget from the bytes in, and refusals that name the setting."""

from __future__ import annotations

import pytest

from organo_predict import ConfigError
from organo_predict._base._limits import InflationLimits, inflation_limits


def test_the_budget_is_the_ratio_past_the_floor_and_never_over_the_cap() -> None:
    limits = InflationLimits(max_bytes=10_000, max_ratio=10, ratio_floor=100)
    assert limits.budget(1) == 100  # small inputs may compress far
    assert limits.budget(50) == 500
    assert limits.budget(5_000) == 10_000
    assert "ORGANO_PREDICT_MAX_RATIO" in limits.refusal(50, "x")
    assert "ORGANO_PREDICT_MAX_BYTES" in limits.refusal(5_000, "x")


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("ORGANO_PREDICT_MAX_BYTES", "2e9")
    monkeypatch.setenv("ORGANO_PREDICT_MAX_RATIO", " 50 ")
    assert inflation_limits() == InflationLimits(max_bytes=2_000_000_000, max_ratio=50)
    for bad in ("0", "-1", "inf", "nan", "lots"):
        monkeypatch.setenv("ORGANO_PREDICT_MAX_BYTES", bad)
        with pytest.raises(ConfigError, match="ORGANO_PREDICT_MAX_BYTES"):
            inflation_limits()
