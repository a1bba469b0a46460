"""Statistics of carriers against non-carriers across strata (cancer type x subtype): the
Mantel-Haenszel odds ratio and rate difference with their intervals and the CMH test, the
power of a two-rate comparison, and stratum-weighted contrasts of any per-patient value
with a bootstrap or a grouped-jackknife interval. Pure NumPy/SciPy, no model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MantelHaenszel", "StrataTables", "bootstrap_interval", "carriers_needed",
           "contrast", "strata_cells", "jackknife_interval", "mantel_haenszel", "power_two_rates"]

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True, slots=True)
class StrataTables:
    """2 x 2 tables per stratum: carriers (a positive, b negative), non-carriers (c, d)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray

    @classmethod
    def count(cls, strata: np.ndarray, carrier: np.ndarray, positive: np.ndarray
              ) -> StrataTables:
        codes, _ = pd.factorize(strata)
        k = int(codes.max()) + 1 if len(codes) else 0

        def n(mask: np.ndarray) -> np.ndarray:
            return np.bincount(codes[mask], minlength=k).astype(float)

        tables = cls(n(carrier & positive), n(carrier & ~positive), n(~carrier & positive),
                     n(~carrier & ~positive))
        informative = (tables.a + tables.b > 0) & (tables.c + tables.d > 0)
        return cls(tables.a[informative], tables.b[informative], tables.c[informative],
                   tables.d[informative])

    def sizes(self) -> tuple[int, int]:
        """Carriers and non-carriers over the strata (those with both)."""
        return int((self.a + self.b).sum()), int((self.c + self.d).sum())


@dataclass(frozen=True, slots=True)
class MantelHaenszel:
    odds_ratio: float
    odds_ratio_ci: tuple[float, float]
    rate_diff: float
    rate_diff_ci: tuple[float, float]
    p_value: float


def mantel_haenszel(t: StrataTables) -> MantelHaenszel:
    """Pooled odds ratio and rate difference over strata, with 95% intervals, and the CMH
    test of no association (without continuity correction)."""
    n1, n0 = t.a + t.b, t.c + t.d
    n = n1 + n0
    r, s = t.a * t.d / n, t.b * t.c / n
    if r.sum() == 0 or s.sum() == 0:  # a zero margin: Haldane's 0.5 in every cell
        return mantel_haenszel(StrataTables(t.a + 0.5, t.b + 0.5, t.c + 0.5, t.d + 0.5))
    big_r, big_s = r.sum(), s.sum()
    p, q = (t.a + t.d) / n, (t.b + t.c) / n
    var_log = ((p * r).sum() / (2 * big_r ** 2) + (p * s + q * r).sum() / (2 * big_r * big_s)
               + (q * s).sum() / (2 * big_s ** 2))  # Robins, Breslow & Greenland (1986)
    log_or = np.log(big_r / big_s)
    half = Z95 * np.sqrt(var_log)
    weight = n1 * n0 / n
    rd = float(((t.a * n0 - t.c * n1) / n).sum() / weight.sum())
    with np.errstate(invalid="ignore", divide="ignore"):  # Greenland & Robins (1985)
        var_rd = float(np.nansum((t.a * t.b * n0 ** 3 + t.c * t.d * n1 ** 3)
                                 / (n1 * n0 * n ** 2)) / weight.sum() ** 2)
    m1, m0 = t.a + t.c, t.b + t.d
    keep = n > 1
    expected = (n1 * m1 / n)[keep].sum()
    variance = (n1 * n0 * m1 * m0 / (n ** 2 * (n - 1)))[keep].sum()
    chi2 = (t.a[keep].sum() - expected) ** 2 / variance if variance > 0 else 0.0
    return MantelHaenszel(
        float(np.exp(log_or)), (float(np.exp(log_or - half)), float(np.exp(log_or + half))),
        rd, (float(rd - Z95 * np.sqrt(var_rd)), float(rd + Z95 * np.sqrt(var_rd))),
        float(stats.chi2.sf(chi2, 1)))


def power_two_rates(p0: float, n1: float, n0: float, odds_ratio: float) -> float:
    """Power of a two-sided 5% test of two rates to detect `odds_ratio` against the rate
    `p0` with n1 carriers and n0 non-carriers (normal approximation, unstratified: where
    carriers crowd into a few strata, the stratified test has less)."""
    if not (0 < p0 < 1) or n1 < 1 or n0 < 1:
        return float("nan")
    odds = p0 / (1 - p0) * odds_ratio
    p1 = odds / (1 + odds)
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return float(stats.norm.cdf(abs(p1 - p0) / se - Z95))


def carriers_needed(p0: float, n0: float, odds_ratio: float, power: float = 0.8) -> int | None:
    """Carriers needed for `power` at `odds_ratio` beside n0 non-carriers (None: no number
    of carriers is enough with so few non-carriers, or no rate to power against)."""
    if not (0 < p0 < 1) or n0 < 1:
        return None
    odds = p0 / (1 - p0) * odds_ratio
    p1 = odds / (1 + odds)
    room = (abs(p1 - p0) / (Z95 + stats.norm.ppf(power))) ** 2 - p0 * (1 - p0) / n0
    return int(np.ceil(p1 * (1 - p1) / room)) if room > 0 else None


def strata_cells(rows: np.ndarray, carrier: np.ndarray, strata: np.ndarray
           ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(carrier rows, non-carrier rows, Mantel-Haenszel weight n1 n0 / n) per stratum with
    both."""
    codes, _ = pd.factorize(strata[rows])
    index = np.flatnonzero(rows)
    car_of = carrier[rows]
    cells = []
    for k in range(int(codes.max()) + 1 if len(codes) else 0):
        car = index[(codes == k) & car_of]
        non = index[(codes == k) & ~car_of]
        if len(car) and len(non):
            cells.append((car, non, len(car) * len(non) / (len(car) + len(non))))
    return cells


def contrast(values: np.ndarray, rows: np.ndarray, carrier: np.ndarray,
              strata: np.ndarray) -> np.ndarray:
    """Carriers minus non-carriers per column, averaged over strata with MH weights."""
    cells = strata_cells(rows, carrier, strata)
    total = sum(w for _, _, w in cells)
    return sum(w * (values[car].mean(0) - values[non].mean(0)) for car, non, w in cells) / total


def jackknife_interval(point: np.ndarray, replicates: list[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
    """95% interval from the delete-a-group jackknife: variance (G-1)/G sum (r_g - mean)^2,
    Student t with G-1 degrees of freedom."""
    reps = np.asarray(replicates)
    g = len(reps)
    se = np.sqrt((g - 1) / g * ((reps - reps.mean(axis=0)) ** 2).sum(axis=0))
    half = stats.t.ppf(0.975, g - 1) * se
    return point - half, point + half


def bootstrap_interval(values: np.ndarray, rows: np.ndarray, carrier: np.ndarray, strata: np.ndarray,
               n_bootstrap: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile interval, resampling patients within stratum x carrier status."""
    rng = np.random.default_rng(seed)
    cells = strata_cells(rows, carrier, strata)
    total = sum(w for _, _, w in cells)
    draws = np.zeros((n_bootstrap, values.shape[1]))
    for car, non, w in cells:
        for group, sign in ((car, 1.0), (non, -1.0)):
            picks = group[rng.integers(0, len(group), (n_bootstrap, len(group)))]
            draws += sign * w * values[picks].mean(axis=1)
    draws /= total
    return np.percentile(draws, 2.5, axis=0), np.percentile(draws, 97.5, axis=0)
