"""Numbers for a reader: an estimate with its interval, a signed difference, n/a."""

from __future__ import annotations

from organo_predict._base._formatting import interval, shown, signed_interval


def test_what_cannot_be_estimated_is_n_a_and_the_rest_is_signed_or_plain() -> None:
    nan = float("nan")
    assert signed_interval(nan, [0.0, 0.0]) == "n/a"  # was "+nan [+0.000, +0.000]"
    assert signed_interval(0.0121, [0.003, 0.021]) == "+0.012 [+0.003, +0.021]"
    assert interval(0.6123, [0.598, 0.627]) == "0.612 [0.598, 0.627]"
    assert interval(nan, [nan, nan]) == "n/a" and shown(None) == "n/a"
    assert shown(float("inf")) == "n/a" and shown(0.5, ".1%") == "50.0%"
