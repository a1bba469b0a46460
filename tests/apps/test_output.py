"""Output files: checked before any work, written whole or not at all, never clobbered."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from organo_predict import OrganoPredictError
from organo_predict._apps._output import atomic_output, check_output, remove_stale_partials


def test_formats_and_destinations(tmp_path: Path) -> None:
    assert check_output(tmp_path / "x.csv.gz") == ".csv.gz"
    assert check_output(tmp_path / "new" / "deeper" / "x.parquet") == ".parquet"
    with pytest.raises(OrganoPredictError, match="unknown format '.xlsx'"):
        check_output(tmp_path / "x.xlsx")
    (tmp_path / "x.tsv").write_text("old")
    with pytest.raises(OrganoPredictError, match="already exists"):
        check_output(tmp_path / "x.tsv")
    assert check_output(tmp_path / "x.tsv", overwrite=True) == ".tsv"


def test_written_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    frame = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(RuntimeError), atomic_output(out, ".csv", overwrite=False) as write:
        write(frame)
        raise RuntimeError("failed midway")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(out, ".csv", overwrite=False) as write:
        write(frame)
        write(frame)
    assert pd.read_csv(out)["a"].tolist() == [1, 2, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_only_partials_of_dead_processes_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    dead = tmp_path / ".t.csv.partial-999999999"  # no such process
    alive = tmp_path / f".t.csv.partial-{os.getppid()}"
    other = tmp_path / ".other.csv.partial-999999999"
    for path in (dead, alive, other):
        path.write_text("x")
    assert remove_stale_partials(out) == [dead]
    assert alive.exists() and other.exists() and not dead.exists()


def test_a_full_disk_is_an_error_that_says_so_and_keeps_the_existing_file(tmp_path) -> None:
    # disk full during `score` kept the data safe but ended in a traceback, exit 1
    import errno

    out = tmp_path / "scores.csv"
    out.write_text("old\n")
    full = pytest.raises(OrganoPredictError, match=r"scores.csv: writing failed \(No space "
                         r"left on device\); no output written, the existing file is unchanged")
    with full, atomic_output(out, ".csv", overwrite=True) as write:
        write(pd.DataFrame({"a": [1]}))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
