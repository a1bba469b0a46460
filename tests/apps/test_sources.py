"""Where a command's cohort comes from, and what its reader said."""

from __future__ import annotations

import warnings

from organo_predict import CohortWarning
from organo_predict._apps._sources import load_cohort, load_source


def test_reader_warnings_reach_the_run_log_as_one_line_each(edit) -> None:
    """A cohort value read as missing is said in the run's log, with file, line and column,
    not as a Python warning with a source line."""
    root = edit("data_sv.txt", lambda t: t.replace("EML4\tALK", "EML4\tERG fusion"))
    lines: list[str] = []
    cohort = load_cohort(str(root), log=lines.append)
    assert len(cohort.samples) == 4
    assert lines == ["warning: data_sv.txt, line 2, column 'Site2_Hugo_Symbol': 1 value(s) "
                     "that are not gene symbols (first 'ERG fusion': free text, or a shifted "
                     "row) read as missing"]


def test_the_reader_s_own_warnings_are_returned_not_shown(edit) -> None:
    """`validate` judges them (exit 2 on a CohortWarning), so they come back as values."""
    root = edit("data_sv.txt", lambda t: t.replace("EML4\tALK", "EML4\tERG fusion"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning shown would fail here
        cohort, said = load_source(root)
    assert len(cohort.samples) == 4
    assert [type(w) for w in said] == [CohortWarning]
