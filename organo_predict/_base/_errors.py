"""One documented exception tree for everything organo-predict raises on purpose.

    OrganoPredictError
    ├── CohortError        a study folder/tarball is unreadable or invalid (names file, line, column)
    ├── DownloadError      a study could not be fetched or unpacked
    ├── FeatureError       features cannot be built (unknown recipe, bad TOML)
    │   └── LeakageError   the leakage audit refused a feature
    ├── ConfigError        an experiment configuration is invalid
    ├── ModelError         a model cannot be trained, loaded or applied
    └── ProfileError       a patient profile is well-formed but unusable (names the field)

    OrganoPredictWarning (UserWarning)
    ├── CohortWarning      a study is readable but has a problem (`validate` exits non-zero)
    └── UnknownGeneWarning gene symbols on no known panel (expected in real cohorts)

Messages quote input through `excerpt`, so no error echoes more than a short piece of a
file or a request, however long the offending line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "CLI_NAMES",
    "CohortError",
    "ConfigError",
    "DownloadError",
    "FeatureError",
    "LeakageError",
    "CohortWarning",
    "ModelError",
    "OrganoPredictError",
    "OrganoPredictWarning",
    "ProfileError",
    "UnknownGeneWarning",
    "braced",
    "did_you_mean",
    "excerpt",
]

MAX_MESSAGE = 400  # characters of a CohortError's reason; the rest is cut


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """"; did you mean 'x'?" when a known name is close to `value`, else ""."""
    import difflib

    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def excerpt(value: object, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters: how messages quote input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"



# How a message names an argument: in Python (the default) and on the command line.
PYTHON_NAMES = {"out": "out=", "overwrite": "overwrite=True", "chunk_size": "chunk_size=",
                "model": "model=", "spark": "SparkScorer", "replace_study": "overwrite=True",
                "run_experiment": "run_experiment()", "engine": "engine=\"dask\"",
                "scheduler": "scheduler=", "unknown_cancer_type": "unknown_cancer_type='pooled'"}
CLI_NAMES = {"out": "--out ", "overwrite": "--overwrite", "chunk_size": "--chunk-size ",
             "model": "--model ", "spark": "--engine spark", "replace_study": "--force",
             "run_experiment": "`organo-predict experiment`", "engine": "--engine dask",
             "scheduler": "--scheduler", "unknown_cancer_type": "--unknown-cancer-type pooled"}
_ARGUMENT = re.compile(r"\{\{|\}\}|\{(" + "|".join(PYTHON_NAMES) + r")\}")


def _named(template: str, names: dict[str, str]) -> str:
    """`template` with `{argument}` fields named by `names` and doubled braces undoubled."""
    return _ARGUMENT.sub(lambda m: names[m.group(1)] if m.group(1) else m.group(0)[0],
                         template)


def braced(value: object) -> str:
    """`value` as text inside an argument template (`OrganoPredictError.about`): its own
    braces doubled, so a path with `{` in it is shown as it is."""
    return str(value).replace("{", "{{").replace("}", "}}")


class OrganoPredictError(Exception):
    """Base class of every error organo-predict raises deliberately.

    A message may name arguments as `{out}`, `{overwrite}`, ... (see `about`): `str(error)`
    says them as Python does (`out=`, `overwrite=True`), `render(CLI_NAMES)` as the command
    line does (`--out`, `--overwrite`), so the library never speaks in flags."""

    template: str | None = None

    @classmethod
    def about(cls, template: str) -> OrganoPredictError:
        """An error whose `template` names arguments in braces (values already in it)."""
        error = cls(_named(template, PYTHON_NAMES))
        error.template = template
        return error

    def render(self, names: dict[str, str]) -> str:
        """The message with its arguments named by `names` (plain `str()` without a
        template)."""
        if self.template is None:
            return str(self)
        return _named(self.template, names)


class CohortError(OrganoPredictError):
    """A cBioPortal study is invalid; the message names the file and, where it applies,
    the 1-based line and the column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        if len(message) > MAX_MESSAGE:
            message = f"{message[:MAX_MESSAGE - 1]}…"
        self.reason = message
        where = []
        if self.file is not None:
            where.append(self.file)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class DownloadError(OrganoPredictError):
    """A study could not be downloaded, verified or extracted."""


class FeatureError(OrganoPredictError):
    """Features cannot be built: a recipe file is invalid or the input is unusable."""


class LeakageError(FeatureError):
    """The leakage audit refused one or more features as label proxies."""


class ConfigError(OrganoPredictError):
    """An experiment configuration file, or a limit set in the environment, is invalid."""


class UsageError(OrganoPredictError):
    """A command's options are invalid together or in their value (a malformed
    NAME=VALUE flag, a combination an engine cannot run): said before any work."""


class ModelError(OrganoPredictError):
    """A model cannot be trained, loaded or applied."""


class ProfileError(OrganoPredictError):
    """A profile is well-formed but cannot be used (e.g. an unknown gene panel); `loc`
    names the field, as a validation error would."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class OrganoPredictWarning(UserWarning):
    """Base class of every warning organo-predict issues deliberately."""


class CohortWarning(OrganoPredictWarning):
    """A study is readable but something in it is wrong or guessed (a value read as
    missing, a panel without a gene list, no meta_study.txt): the message names where."""


class UnknownGeneWarning(OrganoPredictWarning):
    """Gene symbols not on any known panel: kept, but no model has seen them."""
