"""What a cohort says about its patients' metastases: the organ flags (MSK-MET's
DMETS_DX_<ORGAN>, or the columns a user names) as 0/1 labels, and the population modelled
(known flags for every organ; metastatic patients by default)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._base._errors import CohortError, CohortWarning, did_you_mean, excerpt
from ._organs import ORGANS

if TYPE_CHECKING:
    from ._cohort import Cohort

__all__ = ["LABEL_PREFIX", "label_column", "labels_from_cohort", "labels_from_samples",
           "population_rows"]

LABEL_PREFIX = "DMETS_DX_"


def labels_from_samples(samples: pd.DataFrame, organs: Sequence[str] = ORGANS) -> pd.DataFrame:
    """Organ flags as float 0/1 (NaN unknown), one column per organ present in `samples`."""
    out = {}
    for organ in organs:
        column = f"{LABEL_PREFIX}{organ}"
        if column in samples.columns:
            out[organ] = _flags(samples[column], column)
    return pd.DataFrame(out, index=samples.index)


_FLAGS = {"yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0,
          "0.0": 0.0, "true": 1.0, "false": 0.0}


def _flags(values: pd.Series, column: str | None = None) -> pd.Series:
    """Yes/No, Y/N, 1/0 or true/false (any case, NUMBER columns' 1.0/0.0) as float 0/1;
    missing stays NaN. Any other value is also NaN (an unknown label), with a warning
    naming the column, the value and how many rows have one like it."""
    text = values.astype("string").str.strip().str.lower()
    flags = text.map(_FLAGS).astype(float)
    odd = (text.notna() & flags.isna()).to_numpy()
    if odd.any():
        first = values.iloc[int(np.flatnonzero(odd)[0])]
        warnings.warn(f"{column or values.name}: {int(odd.sum())} value(s) that are not a "
                      f"flag (first {excerpt(first)}; Yes/No, Y/N, 1/0 or true/false) read "
                      "as unknown", CohortWarning, stacklevel=3)
    return flags


def label_column(organ: str, columns: Mapping[str, str] | None = None) -> str:
    """The study column holding `organ`'s flag: `columns[organ]`, else DMETS_DX_<ORGAN>."""
    return (columns or {}).get(organ, f"{LABEL_PREFIX}{organ}")


def labels_from_cohort(cohort: Cohort, organs: Sequence[str] = ORGANS,
                       columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Organ flags as float 0/1 (NaN unknown), one column per organ whose column the study
    has: `columns[organ]` (a sample or patient attribute), else DMETS_DX_<ORGAN>; values
    Yes/No, 1/0 or true/false, any case."""
    out = {}
    present = [*cohort.samples.columns, *cohort.patients.columns]
    for organ in organs:
        column = label_column(organ, columns)
        if column in present:
            out[organ] = _flags(cohort.clinical([column]), column).to_numpy()
        elif column in (columns or {}).values():  # named by the user: it must be there
            raise CohortError(f"the {organ} label column {column!r} is in neither the sample "
                              f"nor the patient file{did_you_mean(column, present)}",
                              file=cohort.source)
    return pd.DataFrame(out, index=cohort.samples.index)


def population_rows(cohort: Cohort, labels: pd.DataFrame, population: str) -> np.ndarray:
    """Rows modelled: known flags for every organ, and metastatic disease by default."""
    known = labels.notna().all(axis=1).to_numpy()
    if population == "all_labelled":
        return known
    if "METASTATIC_PATIENT" in cohort.samples.columns:
        metastatic = (cohort.samples["METASTATIC_PATIENT"].astype("string").str.lower()
                      == "yes").to_numpy()
    else:  # without the column: a patient with any organ flag set is metastatic
        metastatic = (labels.fillna(0).sum(axis=1) > 0).to_numpy()
    return known & metastatic
