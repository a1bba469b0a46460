"""One exception tree; messages say where, and quote input briefly."""

from __future__ import annotations

import organo_predict as op
from organo_predict._errors import MAX_MESSAGE, excerpt


def test_every_error_and_warning_shares_one_base() -> None:
    for error in (op.CohortError, op.ConfigError, op.DownloadError, op.FeatureError,
                  op.LeakageError, op.ModelError):
        assert issubclass(error, op.OrganoPredictError)
    assert issubclass(op.LeakageError, op.FeatureError)
    for warning in (op.CohortWarning, op.UnknownGeneWarning):
        assert issubclass(warning, op.OrganoPredictWarning)
        assert issubclass(warning, UserWarning)


def test_cohort_error_names_file_line_and_column() -> None:
    error = op.CohortError("not a number", file="data.txt", line=7, column="AGE")
    assert str(error) == "data.txt, line 7, column 'AGE': not a number"
    assert (error.file, error.line, error.column, error.reason) == ("data.txt", 7, "AGE",
                                                                    "not a number")
    assert str(op.CohortError("bare")) == "bare"


def test_messages_are_cut_short() -> None:
    assert excerpt("x" * 1000) == repr("x" * 1000)[:79] + "…"
    assert excerpt("short") == "'short'"
    assert len(op.CohortError("y" * 10_000, file="f").reason) == MAX_MESSAGE
