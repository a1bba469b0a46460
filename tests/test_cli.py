"""The command line: warnings as one plain line, exit codes, flags named as flags."""

from __future__ import annotations

import os
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

    import organo_predict._apps._commands as commands

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


@pytest.mark.parametrize(("argv", "named"), [
    (["--threads", "0", "validate", "x"], "--threads: 0: must be at least 1"),
    (["serve", "--port", "99999"], "--port: 99999: must be from 1 to 65535"),
    (["serve", "--port", "-1"], "--port: -1: must be from 1 to 65535"),
    (["serve", "--workers", "0"], "--workers: 0: must be from 1 to 64"),
    (["download", "msk_met_2021", "--timeout", "-1"], "--timeout: -1: must be more than 0"),
    (["download", "msk_met_2021", "--timeout", "nan"], "--timeout: 'nan' is not a finite"),
    (["explain", "P-1", "--top", "-1"], "--top: -1: must be at least 1"),
    (["score", "s", "--out", "o.csv", "--explain", "-3"], "--explain: -3: must be at least 0"),
    (["score", "s", "--out", "o.csv", "--chunk-size", "0"], "--chunk-size: 0: must be at least"),
    (["evaluate", "s", "--n-bootstrap", "0"], "--n-bootstrap: 0: must be from 1 to 100000"),
    (["serve", "--port", "80.5"], "--port: '80.5' is not an integer"),
])
def test_numbers_out_of_range_are_refused_before_any_work(argv, named, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert named in capsys.readouterr().err


def test_threads_beyond_the_cores_are_capped_at_the_cores(monkeypatch, capsys, tmp_path) -> None:
    from organo_predict._base._threads import usable_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # restored after the test
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    cores = usable_cores()
    assert main(["--threads", "100000", "validate", str(tmp_path / "none")]) == 2
    assert os.environ["OMP_NUM_THREADS"] == os.environ["NUMBA_NUM_THREADS"] == str(cores)
    assert f"capped at {cores}" in capsys.readouterr().err


def test_a_report_dir_that_is_a_file_is_refused_before_any_work(tmp_path, capsys) -> None:
    (tmp_path / "afile").write_text("x")
    for command in (["experiment", "--no-mlflow"], ["evaluate", str(tmp_path), "--no-mlflow"]):
        assert main([*command, "--report-dir", str(tmp_path / "afile")]) == 2
        assert "afile exists and is not a folder" in capsys.readouterr().err


def test_a_read_only_tracking_store_is_refused_before_any_work(tmp_path, monkeypatch,
                                                               capsys) -> None:
    # it failed after the whole training, leaving the report folder without metrics.json
    import os

    if os.geteuid() == 0:  # root writes anything: make the store's folder unreachable instead
        store = tmp_path / "no" / "such" / "deep"
        (tmp_path / "no").write_text("a file, not a folder")
    else:
        store = tmp_path / "ro"
        store.mkdir()
        (store / "mlflow.db").write_bytes(b"")
        (store / "mlflow.db").chmod(0o444)
        store.chmod(0o555)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    for command, otherwise in ((["experiment"], "--no-mlflow"),
                               (["evaluate", str(tmp_path)], "--no-mlflow"),
                               (["recalibrate", str(tmp_path)], "--bundle")):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "the MLflow tracking store sqlite:///" in err and "cannot be written" in err
        assert otherwise in err
    if os.geteuid() != 0:
        store.chmod(0o755)
