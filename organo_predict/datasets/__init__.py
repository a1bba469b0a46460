"""Cohorts shipped inside the package, so organo-predict runs offline on a fresh machine."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._cohort._cohort import Cohort

__all__ = ["msk_met", "msk_met_fingerprint", "msk_met_path"]

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
    Cached: the returned `Cohort` is shared, so treat its frames as read-only. Its own 35
    mutated symbols that no IMPACT panel lists (non-coding neighbours such as CDKN2B-AS1,
    retired names such as FAM175A) are known and not warned about; any other study's are.
    """
    import warnings

    from .._base._errors import UnknownGeneWarning
    from .._cohort._cohort import load_study  # pandas and the readers load only when it is read

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownGeneWarning)
        return _columnar_copy(msk_met_path(), load_study)


def _columnar_copy(folder: Path, load: Callable[[Path], Cohort]) -> Cohort:
    """The study at `folder` read once per user and version into a columnar copy in the
    per-user cache (keyed by its files' names, sizes and times), then read from there:
    1.25 s to parse the embedded study, ~0.2 s to read its copy, frame for frame equal.
    A copy that cannot be read is made again; a cache that cannot be written is skipped."""
    import contextlib
    import os
    import shutil
    import tempfile
    import warnings

    from .._base._cache import KEEP, prune
    from .._cohort._cohort import load_columnar, save_columnar

    copy = _copy_folder(folder)
    if (copy / "cohort.json").is_file():
        with contextlib.suppress(Exception):  # damaged: made again below
            cohort = load_columnar(copy)
            os.utime(copy)  # just used: what the cache's pruning orders by
            return cohort
    with warnings.catch_warnings(record=True) as issued:
        warnings.simplefilter("always")
        cohort = load(folder)
    for warning in issued:  # the caller sees them as it would without the copy
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno)
    with contextlib.suppress(OSError):
        copy.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{copy.name}-", dir=copy.parent))
        try:
            save_columnar(cohort, staging, issued)
            shutil.rmtree(copy, ignore_errors=True)
            staging.rename(copy)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        prune(copy.parent, KEEP["cohorts"])  # copies of earlier installs' data
    return cohort


# What the columnar copy holds changes with what the reader keeps (`_readers.MAF_KEEP`, 2:
# the MAF's alleles): a new layout is a new cache key. A constant here, not the tuple, so
# that commands which only need the fingerprint do not import the reader (and pandas).
COLUMNAR_LAYOUT = 2


def _copy_folder(folder: Path) -> Path:
    """Where the columnar copy of the study at `folder` lives: keyed by its files' names,
    sizes and modification times, under this user's cache for this version."""
    import hashlib

    from .._base._cache import cache_dir

    stamp = hashlib.sha256(f"layout {COLUMNAR_LAYOUT};".encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = path.stat()
            stamp.update(f"{path.relative_to(folder)}:{info.st_size}:{info.st_mtime_ns};".encode())
    return cache_dir() / "cohorts" / f"{folder.name}-{stamp.hexdigest()[:24]}"


def msk_met_fingerprint() -> str | None:
    """The embedded cohort's fingerprint from its columnar copy, without reading a frame
    (None before the first read made the copy): what tells a model's training cohort."""
    import contextlib
    import json

    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return str(json.loads((_copy_folder(msk_met_path()) / "cohort.json").read_text())
                   ["fingerprint"])
    return None
