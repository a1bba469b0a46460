"""Where a command's cohort comes from: a study folder or tarball, or the embedded cohort
(`embedded:msk_met`, or no source at all), with the reader's own warnings collected for the
caller to print or to judge."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

from .._base._errors import OrganoPredictWarning, UnknownGeneWarning
from .._cohort._cohort import Cohort, load_study

__all__ = ["EMBEDDED_SOURCE", "load_cohort", "load_source"]

EMBEDDED_SOURCE = "embedded:msk_met"  # how a command line names the embedded cohort


def load_source(source: str | Path | None, panels: Mapping[str, str | Path] | None = None
                ) -> tuple[Cohort, list[OrganoPredictWarning]]:
    """The study at `source` (None or `EMBEDDED_SOURCE`: the embedded cohort) and the
    warnings its reader issued, for the caller to report or to judge (`validate` fails on a
    `CohortWarning`). Other libraries' warnings are shown as Python would."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if source is None or str(source) == EMBEDDED_SOURCE:
            from ..datasets import msk_met

            cohort = msk_met()
        else:
            cohort = load_study(source, panels)
    own: list[OrganoPredictWarning] = []
    for warning in caught:
        if isinstance(warning.message, OrganoPredictWarning):
            own.append(warning.message)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename,
                                 warning.lineno)
    return cohort, own


def load_cohort(source: str | None, log: Callable[[str], None] = print,
                panels: Mapping[str, str] | None = None) -> Cohort:
    """The configured cohort (None: the embedded one), with the gene lists of `panels` (panel
    id -> file). Its reader's warnings (a value read as missing, with file, line and column)
    go to `log` as one line each; gene symbols off every panel are expected in real cohorts
    and are not said (`validate` lists them)."""
    cohort, said = load_source(source, panels)
    for warning in said:
        if not isinstance(warning, UnknownGeneWarning):
            log(f"warning: {warning}")
    return cohort
