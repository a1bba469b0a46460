"""One exception tree; messages say where, and quote input briefly."""

from __future__ import annotations

import organo_predict as op
from organo_predict._base._errors import MAX_MESSAGE, excerpt


def test_every_error_and_warning_shares_one_base() -> None:
    for error in (op.CohortError, op.ConfigError, op.DownloadError, op.FeatureError,
                  op.LeakageError, op.ModelError, op.ProfileError, op.UsageError):
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


def test_the_library_names_arguments_as_python_does_and_the_cli_as_flags(tmp_path,
                                                                          capsys) -> None:
    """The same refusal reads `out=... (pass overwrite=True ...)` from Python and
    `--out ... (pass --overwrite ...)` on the command line."""
    import pytest

    from organo_predict._apps._output import check_output
    from organo_predict.cli import main

    existing = tmp_path / "scores{1}.csv"  # braces in a path are shown as they are
    existing.write_text("x")
    with pytest.raises(op.OrganoPredictError) as caught:
        check_output(existing)
    assert str(caught.value) == (f"out={existing}: already exists; not overwritten (pass "
                                 "overwrite=True to replace it)")
    assert "--" not in str(caught.value)
    assert main(["score", "embedded:msk_met", "--out", str(existing)]) == 2
    assert (f"error: --out {existing}: already exists; not overwritten (pass --overwrite to "
            "replace it)") in " ".join(capsys.readouterr().err.split())
    from organo_predict import score_cohort

    with pytest.raises(op.OrganoPredictError, match=r"^chunk_size=0: must be at least 1$"):
        score_cohort(None, None, tmp_path / "s.csv", chunk_size=0)  # type: ignore[arg-type]
