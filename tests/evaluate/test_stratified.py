"""Stratified statistics: Mantel-Haenszel against an independent implementation and the
one-stratum textbook formulas; power and sample size agree; contrasts and their intervals."""

from __future__ import annotations

import numpy as np
import pytest

from organo_predict._evaluate._stratified import (
    StrataTables,
    bootstrap_interval,
    carriers_needed,
    contrast,
    jackknife_interval,
    mantel_haenszel,
    power_two_rates,
)


def test_mantel_haenszel_matches_statsmodels_on_three_strata() -> None:
    """Oracle: statsmodels 0.14 StratifiedTable on the same tables gives OR 2.111588702559576,
    RBG interval (1.358323571870743, 3.282580779067515), CMH p 0.0008119961251962238."""
    t = StrataTables(np.array([12.0, 5, 30]), np.array([30.0, 10, 25]),
                     np.array([40.0, 22, 60]), np.array([200.0, 90, 110]))
    mh = mantel_haenszel(t)
    assert mh.odds_ratio == pytest.approx(2.111588702559576, rel=1e-12)
    assert mh.odds_ratio_ci == pytest.approx((1.358323571870743, 3.282580779067515), rel=1e-9)
    assert mh.p_value == pytest.approx(0.0008119961251962238, rel=1e-9)


def test_one_stratum_reduces_to_the_textbook_formulas() -> None:
    a, b, c, d = 30.0, 70.0, 20.0, 180.0
    mh = mantel_haenszel(StrataTables(*(np.array([v]) for v in (a, b, c, d))))
    assert mh.odds_ratio == pytest.approx(a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)  # Woolf
    assert np.log(mh.odds_ratio_ci[1] / mh.odds_ratio) == pytest.approx(1.959964 * se, rel=1e-5)
    p1, p0 = a / (a + b), c / (c + d)
    assert mh.rate_diff == pytest.approx(p1 - p0)
    wald = np.sqrt(p1 * (1 - p1) / (a + b) + p0 * (1 - p0) / (c + d))
    assert mh.rate_diff_ci[1] - mh.rate_diff == pytest.approx(1.959964 * wald, rel=1e-5)


def test_power_and_carriers_needed_agree() -> None:
    needed = carriers_needed(0.2, 2000, 2.0)
    assert needed is not None
    assert power_two_rates(0.2, needed, 2000, 2.0) >= 0.8 > power_two_rates(0.2, needed - 2,
                                                                             2000, 2.0)
    assert carriers_needed(0.2, 5, 2.0) is None  # too few non-carriers for any number




def test_contrast_weights_strata_and_intervals_cover_it() -> None:
    rng = np.random.default_rng(0)
    strata = np.repeat(np.array(["a", "b"], dtype=object), [400, 600])
    carrier = rng.random(1000) < 0.3
    values = (rng.normal(size=1000) + np.where(carrier, 0.5, 0.0))[:, None]
    rows = np.ones(1000, dtype=bool)
    point = contrast(values, rows, carrier, strata)
    assert point[0] == pytest.approx(0.5, abs=0.15)
    low, high = bootstrap_interval(values, rows, carrier, strata, 500, 0)
    assert low[0] < point[0] < high[0] and low[0] > 0
    jlow, jhigh = jackknife_interval(point, [point + 0.01, point - 0.01, point + 0.02,
                                             point - 0.02, point])
    # (G-1)/G * sum of squares = 0.8 * 0.001, times t(4) = 2.776
    assert jhigh[0] - point[0] == pytest.approx(2.776445 * np.sqrt(0.8 * 0.001), rel=1e-5)
