"""Cohorts shipped inside the package, so organo-predict runs offline on a fresh machine."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from .._cohort import Cohort, load_study

__all__ = ["msk_met", "msk_met_path"]

CITATION = ("Nguyen B, et al. Genomic characterization of metastatic patterns from prospective "
            "clinical sequencing of 25,000 patients. Cell 185(3):563-575 (2022). "
            "doi:10.1016/j.cell.2022.01.003; data via cBioPortal (msk_met_2021).")


def msk_met_path() -> Path:
    """Folder of the embedded MSK-MET copy (gzip-compressed cBioPortal files)."""
    return Path(str(resources.files("organo_predict.datasets") / "msk_met_2021"))


@cache
def msk_met() -> Cohort:
    """The embedded MSK-MET cohort (Nguyen et al., Cell 2022): 23,539 patients.

    See PROVENANCE.md beside the data for what is complete, what is partial and the traps.
    Cached: the returned `Cohort` is shared, so treat its frames as read-only.
    """
    return load_study(msk_met_path())
