"""Threads follow the cores the process may use, and OpenMP waits stay short."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from organo_predict._base._threads import SPIN_COUNT, usable_cores


def test_usable_cores_follow_affinity_and_omp_num_threads(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert usable_cores() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert usable_cores() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "999")
    assert usable_cores() == len(os.sched_getaffinity(0))  # a cap, never more cores
    monkeypatch.setenv("OMP_NUM_THREADS", "four")
    assert usable_cores() == len(os.sched_getaffinity(0))  # not a number: ignored


def test_the_model_uses_them_unless_told(monkeypatch) -> None:
    from organo_predict import OrganotropismModel

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert OrganotropismModel()._lgb_params()["num_threads"] == 1
    assert OrganotropismModel(n_jobs=3)._lgb_params()["num_threads"] == 3


def _spin_count_in_a_fresh_process(env: dict[str, str]) -> str:
    code = "import os, organo_predict; print(os.environ.get('GOMP_SPINCOUNT', '-'))"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_importing_the_package_shortens_openmp_spin_waits_unless_the_user_set_them() -> None:
    base = {k: v for k, v in os.environ.items()
            if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    assert _spin_count_in_a_fresh_process(base) == SPIN_COUNT
    assert _spin_count_in_a_fresh_process({**base, "GOMP_SPINCOUNT": "50"}) == "50"
    assert _spin_count_in_a_fresh_process({**base, "OMP_WAIT_POLICY": "active"}) == "-"


def test_threads_flag(capsys) -> None:
    from organo_predict.cli import main

    with pytest.raises(SystemExit) as refused:
        main(["--threads", "0", "validate", "x"])
    assert refused.value.code == 2
    assert "--threads: 0: must be at least 1" in capsys.readouterr().err
