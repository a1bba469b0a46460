"""The command line: warnings as one plain line, exit codes, flags named as flags."""

from __future__ import annotations

import warnings

import pytest

from organo_predict import CohortWarning
from organo_predict.cli import main


def test_our_warnings_are_one_plain_line_others_as_python_shows_them(capsys,
                                                                      monkeypatch) -> None:
    def handler(args) -> int:
        warnings.warn("data.txt, line 3: [odd] value", CohortWarning, stacklevel=1)
        warnings.warn("a library's own", DeprecationWarning, stacklevel=1)
        return 0

    import organo_predict._commands as commands

    monkeypatch.setattr(commands, "cmd_validate", handler)
    with pytest.warns(DeprecationWarning, match="a library's own"):  # handed on to Python
        assert main(["validate", "unused"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: data.txt, line 3: [odd] value\n"


def test_exit_codes_and_the_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and "organo-predict" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["no-such-command"])
    assert refused.value.code == 2
    assert main(["score", "nowhere/", "--out", "x.parquet", "--chunk-size", "0"]) == 2
    assert "--chunk-size 0: must be at least 1" in capsys.readouterr().err


def test_a_scheduler_without_the_dask_engine_is_refused_before_any_work(capsys) -> None:
    assert main(["experiment", "--no-mlflow", "--scheduler", "tcp://10.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler is for --engine dask, not the local engine" in err
    assert "population" not in err  # the cohort was never loaded


def test_the_dask_engine_without_dask_installed_says_what_to_install(capsys,
                                                                     monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    assert main(["experiment", "--no-mlflow", "--engine", "dask"]) == 2
    err = capsys.readouterr().err
    assert "--engine dask needs dask.distributed: pip install 'organo-predict[dask]'" in err
    assert "population" not in err
