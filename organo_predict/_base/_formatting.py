"""How numbers are written for a reader (report.md, the command line): an estimate with its
interval, a signed difference, and "n/a" for what the data cannot give. Standard library
only: printing a stored table loads nothing else."""

from __future__ import annotations

import math

__all__ = ["NOT_ESTIMABLE", "interval", "shown", "signed_interval"]

NOT_ESTIMABLE = "n/a"  # a value the data cannot give (no within-type pairs, one class)


def shown(value: object, spec: str = ".3f") -> str:
    """`value` formatted by `spec`, or "n/a" when it is missing or not finite (a NaN
    printed as "nan" beside an interval of zeros read as a measured zero)."""
    if value is None or not math.isfinite(float(value)):
        return NOT_ESTIMABLE
    return format(float(value), spec)


def signed_interval(value: float | None, ci: list[float] | None, spec: str = "+.3f") -> str:
    """A signed difference and its interval: "+0.012 [+0.003, +0.021]" (the value alone
    without `ci`); "n/a" alone when the difference is not estimable."""
    if shown(value) == NOT_ESTIMABLE:
        return NOT_ESTIMABLE
    if ci is None:
        return shown(value, spec)
    return f"{shown(value, spec)} [{shown(ci[0], spec)}, {shown(ci[1], spec)}]"


def interval(value: float, ci: list[float], spec: str = ".3f") -> str:
    """An estimate and its interval: "0.612 [0.598, 0.627]"; "n/a" when not estimable."""
    if shown(value) == NOT_ESTIMABLE:
        return NOT_ESTIMABLE
    return f"{shown(value, spec)} [{shown(ci[0], spec)}, {shown(ci[1], spec)}]"


