"""The experiment's fits: organ models join into the all-organ model, and the local and dask
engines give the same numbers."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

from organo_predict import ConfigError, ModelError, OrganotropismModel
from organo_predict._model._folds import FitTask, fit_task, run_fits

ORGANS = ["LIVER", "LUNG", "BONE"]


def _cohort(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three organs, each following its own gene and the cancer type; a NaN label in BONE."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame((rng.random((n, 12)) < 0.15).astype(np.float32),
                     columns=[f"mut_G{i}" for i in range(12)])
    x["cancer_type"] = rng.integers(0, 3, n).astype(np.float32)
    x["subtype"] = (x["cancer_type"] * 2 + rng.integers(0, 2, n)).astype(np.float32)
    y = pd.DataFrame({organ: (rng.random(n) < 0.15 + 0.4 * x[f"mut_G{j}"]
                              + 0.1 * x["cancer_type"]).astype(float)
                      for j, organ in enumerate(ORGANS)})
    y.loc[y.index[:7], "BONE"] = np.nan
    return x, y


def _factories() -> tuple[partial, partial]:
    settings = {"categorical": ("cancer_type", "subtype"), "min_positives": 10,
                "n_estimators": 40, "random_state": 3}
    return (partial(OrganotropismModel, organs=ORGANS, **settings),
            partial(OrganotropismModel, organs=ORGANS, use_prior=False,
                    features=["cancer_type", "subtype"], **settings))


def _tasks(n: int) -> list[FitTask]:
    folds = np.arange(n) % 3
    return [*(FitTask(np.flatnonzero(folds != k), np.flatnonzero(folds == k))
              for k in range(3)), FitTask(np.arange(n), None)]


def _same_model(a: OrganotropismModel, b: OrganotropismModel) -> None:
    assert a.organs_ == b.organs_ and a.train_prevalence_ == b.train_prevalence_
    for organ in a.organs_:
        fa, fb = a.fits_[organ], b.fits_[organ]
        assert fa.calibration == fb.calibration and fa.best_iteration == fb.best_iteration
        if fa.valid_loss is not None or fb.valid_loss is not None:
            # the loss is summed over threads: equal up to rounding
            np.testing.assert_allclose(fa.valid_loss, fb.valid_loss, rtol=1e-9)
        trees = [f.booster.model_to_string().split("\nparameters:")[0] for f in (fa, fb)]
        assert trees[0] == trees[1]  # the trees, not the thread count they were fitted with
    np.testing.assert_array_equal(a.prior_.global_, b.prior_.global_)


def test_organ_models_join_into_the_model_fitted_on_all_organs() -> None:
    x, y = _cohort()
    make_model, _ = _factories()
    whole = make_model().fit(x, y)
    joined = OrganotropismModel.join([make_model(organs=[o]).fit(x, y[[o]]) for o in ORGANS])
    _same_model(whole, joined)
    np.testing.assert_array_equal(whole.decision_function(x), joined.decision_function(x))
    np.testing.assert_array_equal(whole.prior_proba(x), joined.prior_proba(x))


def test_models_of_other_settings_or_the_same_organ_do_not_join() -> None:
    x, y = _cohort(n=600)
    make_model, _ = _factories()
    liver = make_model(organs=["LIVER"]).fit(x, y[["LIVER"]])
    with pytest.raises(ModelError, match="more than one model"):
        OrganotropismModel.join([liver, liver])
    other = make_model(organs=["LUNG"], num_leaves=7).fit(x, y[["LUNG"]])
    with pytest.raises(ModelError, match="other settings"):
        OrganotropismModel.join([liver, other])


def test_the_local_engine_gives_one_fit_after_another_s_numbers(monkeypatch) -> None:
    x, y = _cohort()
    make_model, make_clinical = _factories()
    tasks = _tasks(len(x))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    pooled = list(run_fits(tasks, make_model, make_clinical, x, y, "local"))
    for task, result in zip(tasks, pooled, strict=True):
        alone = fit_task(make_model, make_clinical, x, y, task, None)
        _same_model(alone.model, result.model)
        if task.test is None:
            assert result.clinical is None
        else:  # a fold's fit recorded its held-out loss for the cross-validation
            _same_model(alone.clinical, result.clinical)
            assert all(len(f.valid_loss) >= 1 for f in result.model.fits_.values())


def test_organ_groups_on_the_local_engine_join_into_the_all_organ_fit() -> None:
    x, y = _cohort()
    make_model, make_clinical = _factories()
    tasks = _tasks(len(x))
    whole = list(run_fits(tasks, make_model, make_clinical, x, y, "local"))
    grouped = list(run_fits(tasks, make_model, make_clinical, x, y, "local",
                            organ_groups=[["LIVER"], ["LUNG", "BONE"]]))
    for ours, theirs in zip(whole, grouped, strict=True):
        _same_model(ours.model, theirs.model)
        assert theirs.model.organs_ == ORGANS


def test_a_scheduler_is_refused_without_the_dask_engine() -> None:
    x, y = _cohort(n=300)
    with pytest.raises(ConfigError, match="scheduler= is for engine=\"dask\""):
        run_fits(_tasks(len(x)), *_factories(), x, y, "local", scheduler="tcp://x:1")


@pytest.mark.slow  # starts a LocalCluster of two worker processes
def test_the_dask_engine_gives_the_local_engine_s_numbers(monkeypatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # a worker per usable core: two
    x, y = _cohort()
    make_model, make_clinical = _factories()
    tasks = _tasks(len(x))
    said: list[str] = []
    local = list(run_fits(tasks, make_model, make_clinical, x, y, "local"))
    dask = list(run_fits(tasks, make_model, make_clinical, x, y, "dask", log=said.append,
                         organs_per_task=2))  # LIVER and LUNG together, BONE alone
    assert any("LocalCluster of 2" in line for line in said)
    assert any("2 organ group(s)" in line for line in said)
    for ours, theirs in zip(local, dask, strict=True):
        _same_model(ours.model, theirs.model)
        if ours.clinical is not None:
            _same_model(ours.clinical, theirs.clinical)


@pytest.mark.slow
def test_an_unreachable_scheduler_is_named() -> None:
    pytest.importorskip("distributed")
    x, y = _cohort(n=300)
    with pytest.raises(ConfigError, match="cannot reach the dask scheduler at 'tcp://127.0.0.1:9'"):
        list(run_fits(_tasks(len(x)), *_factories(), x, y, "dask",
                      scheduler="tcp://127.0.0.1:9"))


@pytest.mark.slow
def test_a_running_scheduler_takes_the_tasks_when_its_workers_run_this_release() -> None:
    distributed = pytest.importorskip("distributed")
    x, y = _cohort(n=600)
    make_model, make_clinical = _factories()
    tasks = _tasks(len(x))
    said: list[str] = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        remote = list(run_fits(tasks, make_model, make_clinical, x, y, "dask",
                               scheduler=cluster.scheduler_address, log=said.append))
    assert any(f"scheduler {cluster.scheduler_address}, 1 worker(s)" in s for s in said)
    for task, result in zip(tasks, remote, strict=True):
        _same_model(fit_task(make_model, make_clinical, x, y, task, None).model, result.model)


def _dies_on_lung(**settings: object) -> OrganotropismModel:
    """A model factory whose LUNG task kills its worker process (as running out of memory
    does)."""
    if settings.get("organs") == ["LUNG"]:
        import os

        os._exit(1)
    return _factories()[0](**settings)


@pytest.mark.slow
def test_a_worker_that_dies_is_an_error_naming_the_organs_and_fold(monkeypatch) -> None:
    pytest.importorskip("distributed")
    import dask

    x, y = _cohort(n=400)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            pytest.raises(ModelError, match=r"the dask task fitting [A-Z_]+ "
                                            r"\((fold \d|the final model)\) failed"):
        list(run_fits(_tasks(len(x)), _dies_on_lung, _factories()[1], x, y, "dask",
                      organs_per_task=1, log=lambda _: None))


@pytest.mark.slow
def test_workers_on_another_release_are_refused_by_name(monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    x, y = _cohort(n=300)
    with distributed.LocalCluster(n_workers=1, processes=False,
                                  dashboard_address=None) as cluster:
        monkeypatch.setattr(distributed.Client, "run",
                            lambda self, *a, **k: {"tcp://10.0.0.7:4000": "0.0.1"})
        with pytest.raises(ConfigError, match=r"run another organo-predict: "
                                              r"\{'tcp://10.0.0.7:4000': '0.0.1'\}"):
            list(run_fits(_tasks(len(x)), *_factories(), x, y, "dask",
                          scheduler=cluster.scheduler_address, log=lambda _: None))


@pytest.mark.slow
def test_pool_workers_do_not_outlive_a_killed_parent(tmp_path) -> None:
    # kill -9 of an experiment during its folds left two loky workers alive for good
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "pool.py"
    script.write_text(
        "import os, sys, time\n"
        "from joblib import delayed\n"
        "from organo_predict._model._folds import process_pool\n"
        "def work(i):\n"
        "    os.write(1, f'{os.getpid()}\\n'.encode())  # one write: lines never interleave\n"
        "    time.sleep(120)\n"
        "list(process_pool(2)(delayed(work)(i) for i in range(2)))\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(parent.stdout.readline()) for _ in range(2)]
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 15
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in workers if _running(pid)]
    assert not alive, f"workers {alive} outlived their parent"


def _running(pid: int) -> bool:
    import os

    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")


def test_stale_pool_folders_of_dead_processes_are_removed(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from organo_predict._model._folds import remove_stale_pool_folders

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / f"joblib_memmapping_folder_{gone.pid}_abc_def"
    live = tmp_path / f"joblib_memmapping_folder_{os.getpid()}_abc_def"
    other = tmp_path / "joblib_something_else"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "x.pkl").write_bytes(b"x" * 10)
    assert remove_stale_pool_folders([str(tmp_path)]) == [str(dead)]
    assert not dead.exists() and live.exists() and other.exists()
