"""organo-predict: where will a cancer spread, and why, from the tumor's own genomics."""

from __future__ import annotations

from . import datasets
from ._cohort import Cohort, load_study
from ._errors import (
    CohortError,
    CohortWarning,
    ConfigError,
    DownloadError,
    FeatureError,
    LeakageError,
    ModelError,
    OrganoPredictError,
    OrganoPredictWarning,
    UnknownGeneWarning,
)

__version__ = "0.1.0"

__all__ = [
    "Cohort",
    "CohortError",
    "CohortWarning",
    "ConfigError",
    "DownloadError",
    "FeatureError",
    "LeakageError",
    "ModelError",
    "OrganoPredictError",
    "OrganoPredictWarning",
    "UnknownGeneWarning",
    "__version__",
    "datasets",
    "load_study",
]
