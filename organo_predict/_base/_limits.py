"""How far input may inflate: the bytes a gzip file or a tarball may expand to, and how many
times its own size, before it is refused. Both are set by environment variables (named in
every refusal), so a user with a genuinely huge study raises them on purpose."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._errors import ConfigError

__all__ = ["MAX_BYTES_ENV", "MAX_MEMBERS", "MAX_RATIO_ENV", "InflationLimits",
           "inflation_limits"]

MAX_BYTES_ENV = "ORGANO_PREDICT_MAX_BYTES"
MAX_RATIO_ENV = "ORGANO_PREDICT_MAX_RATIO"
DEFAULT_MAX_BYTES = 4 << 30  # a 200 MB MAF is ~1 GB of text; GENIE's is ~3 GB
DEFAULT_MAX_RATIO = 200.0  # cBioPortal text compresses 5-15 times (MSK-MET: MAF 4.7, CNA 14.5)
RATIO_FLOOR = 256 << 20  # below this many bytes the ratio is not checked (small files compress far)
MAX_MEMBERS = 10_000  # files in one study tarball (a cBioPortal study has tens)


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"


@dataclass(frozen=True, slots=True)
class InflationLimits:
    """At most `max_bytes` out, and at most `max_ratio` times the bytes in (past the floor)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO
    ratio_floor: int = RATIO_FLOOR

    def budget(self, n_in: int) -> int:
        """The most bytes `n_in` compressed bytes may expand to."""
        return min(self.max_bytes, max(self.ratio_floor, int(self.max_ratio * n_in)))

    def refusal(self, n_in: int, what: str) -> str:
        """Why `what` (n_in bytes) is refused once it passes `budget(n_in)`."""
        budget = self.budget(n_in)
        if budget == self.max_bytes:
            return (f"{what} expands past {_gib(budget)}; refused (raise the limit with "
                    f"{MAX_BYTES_ENV}=<bytes> if the study really is that large)")
        return (f"{what} expands past {self.max_ratio:g} times its {_gib(n_in)} "
                f"(a decompression bomb?); refused (raise the limit with {MAX_RATIO_ENV}=<ratio> "
                "if it is genuine)")


def inflation_limits() -> InflationLimits:
    """The limits in force: the environment's, else the defaults."""
    return InflationLimits(max_bytes=int(_env(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)),
                           max_ratio=_env(MAX_RATIO_ENV, DEFAULT_MAX_RATIO))


def _env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 1 or value == float("inf"):
        raise ConfigError(f"{name}={raw!r}: expected a finite number >= 1")
    return value
