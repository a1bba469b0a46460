"""The experiment's model fits and where they run.

The fits are independent tasks: for each cross-validation fold, the model and the clinical
baseline fitted on the training rows and scored on the held-out rows; and the final model,
fitted on every row. Two engines run them and give the same numbers:

- `local`: a process pool (joblib/loky) over the folds, one LightGBM thread per fit, when
  this process may use more than one core; one fold after another otherwise. LightGBM's
  results do not depend on its thread count.
- `dask`: organ x fold tasks on dask.distributed, a `LocalCluster` of one single-threaded
  worker per usable core, or the running scheduler at `scheduler`. Organs are grouped so
  that every worker gets about three tasks: each task copies its training rows and bins
  them again, which on two cores costs more than the finer split gains (all 20 organs in
  one task per fold there). The features are built once, here, and scattered to every
  worker; the workers fit and return models, and everything else (reports, MLflow) stays
  with the caller. Each organ's booster, calibration
  and prior depend only on its own labels, so the organ models joined
  (`OrganotropismModel.join`) equal one model fitted on all organs at once.

Pure computation apart from the engines' processes (and the stale pool folders a killed
run left, removed before a pool starts): no other file or network IO here.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .._base._errors import ConfigError, ModelError, braced
from .._base._threads import process_alive, usable_cores
from ._models import OrganotropismModel

__all__ = ["ENGINES", "Engine", "FitTask", "TaskResult", "check_engine", "fit_task",
           "process_pool", "remove_stale_pool_folders", "run_fits"]

PARENT_POLL_SECONDS = 1.0  # how often a pool worker checks that its parent is alive
_POOL_FOLDER = re.compile(r"joblib_memmapping_folder_(\d+)_.+")

Engine = Literal["local", "dask"]
ENGINES: tuple[str, ...] = get_args(Engine)
ModelFactory = Callable[..., OrganotropismModel]
Log = Callable[[str], None]


@dataclass(frozen=True)
class FitTask:
    """Rows to fit on, and rows to score (None: the final model, nothing held out)."""

    train: np.ndarray
    test: np.ndarray | None


@dataclass
class TaskResult:
    """A task's model, and a fold's clinical baseline (None for the final model). A fold's
    models are fitted on its training rows, early-stopped on its held-out rows with the
    held-out loss of every round recorded, from which the cross-validation then chooses the
    rounds (`_crossfit`)."""

    model: OrganotropismModel
    clinical: OrganotropismModel | None


def run_fits(tasks: Sequence[FitTask], make_model: ModelFactory, make_clinical: ModelFactory,
             x: pd.DataFrame, y: pd.DataFrame, engine: Engine = "local",
             scheduler: str | None = None, log: Log = print,
             organs_per_task: int | None = None,
             organ_groups: Sequence[Sequence[str]] | None = None) -> Iterator[TaskResult]:
    """Every task's result, in the order of `tasks`, as each becomes available.
    `make_model(n_jobs=..., organs=...)` and `make_clinical(...)` make unfitted models
    (partials: worker processes receive them). The organs of each task are fitted in
    `organ_groups` (their models joined), or on dask in groups of `organs_per_task` (None:
    as many as keep every worker busy with about three tasks; every organ together on two
    workers, since each task copies the training rows and bins them again)."""
    check_engine(engine, scheduler)
    if engine == "dask":
        return _on_dask(tasks, make_model, make_clinical, x, y, scheduler, log,
                        organs_per_task, organ_groups)
    return _local(tasks, make_model, make_clinical, x, y, organ_groups)


def check_engine(engine: str, scheduler: str | None) -> None:
    """Refuse an unknown engine, a scheduler without the dask engine, or the dask engine
    without dask.distributed installed: before any work."""
    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r}: not one of {', '.join(ENGINES)}")
    if engine == "local" and scheduler is not None:
        raise ConfigError.about("{scheduler} is for {engine}, not the local engine")
    if engine == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise ConfigError.about("{engine} needs dask.distributed: pip install "
                                    "'organo-predict[dask]'") from exc


def fit_task(make_model: ModelFactory, make_clinical: ModelFactory, x: pd.DataFrame,
             y: pd.DataFrame, task: FitTask, n_jobs: int | None,
             organs: Sequence[str] | None = None) -> TaskResult:
    """One task on `organs` (None: every organ of `y`): the model, and for a fold the
    clinical baseline, both early-stopped on the fold's held-out rows."""
    organs = list(y.columns if organs is None else organs)
    x_train, y_train = x.iloc[task.train], y.iloc[task.train][organs]
    if task.test is None:
        return TaskResult(make_model(n_jobs=n_jobs, organs=organs).fit(x_train, y_train), None)
    held_out = (x.iloc[task.test], y.iloc[task.test][organs])
    return TaskResult(
        make_model(n_jobs=n_jobs, organs=organs).fit(x_train, y_train, eval_set=held_out),
        make_clinical(n_jobs=n_jobs, organs=organs).fit(x_train, y_train, eval_set=held_out))


def _local(tasks: Sequence[FitTask], make_model: ModelFactory, make_clinical: ModelFactory,
           x: pd.DataFrame, y: pd.DataFrame,
           organ_groups: Sequence[Sequence[str]] | None) -> Iterator[TaskResult]:
    groups = [list(g) for g in organ_groups] if organ_groups else [list(y.columns)]
    pairs = [(k, group) for k in range(len(tasks)) for group in groups]
    workers = min(usable_cores(), len(pairs))
    if workers <= 1:
        parts = (fit_task(make_model, make_clinical, x, y, tasks[k], None, group)
                 for k, group in pairs)
    else:
        from joblib import delayed

        parts = process_pool(workers)(
            delayed(fit_task)(make_model, make_clinical, x, y, tasks[k], 1, group)
            for k, group in pairs)
    return _in_tasks(parts, len(groups))


def process_pool(workers: int):  # -> joblib.Parallel (imported late: joblib is slow to load)
    """A loky pool of `workers` processes that cannot outlive this one: each worker exits
    within a second of its parent's death (a `kill -9` of the experiment used to leave
    two workers of ~700 MB for good), and joblib memmapping folders that a dead run left
    in /dev/shm are removed before the pool starts."""
    from joblib import Parallel

    remove_stale_pool_folders()
    return Parallel(n_jobs=workers, backend="loky", return_as="generator",
                    initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: a thread that ends the process once `parent` is gone."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="organo-predict-parent-watch").start()


def remove_stale_pool_folders(roots: Sequence[str] | None = None) -> list[str]:
    """Remove this user's `joblib_memmapping_folder_<pid>_...` folders whose process is
    gone (joblib removes its own on a clean exit; a killed run cannot). Returns them."""
    import shutil
    import tempfile

    if roots is None:
        roots = [r for r in (os.environ.get("JOBLIB_TEMP_FOLDER"), "/dev/shm",
                             tempfile.gettempdir()) if r]
    removed = []
    for root in roots:
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            match = _POOL_FOLDER.fullmatch(entry.name)
            try:
                mine = entry.is_dir(follow_symlinks=False) and entry.stat().st_uid == os.getuid()
            except OSError:
                continue
            if match and mine and not process_alive(int(match.group(1))):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _in_tasks(parts: Iterator[TaskResult], n_groups: int) -> Iterator[TaskResult]:
    """Organ-group results, task after task, joined into one result per task."""
    batch: list[TaskResult] = []
    for part in parts:
        batch.append(part)
        if len(batch) == n_groups:
            yield batch[0] if n_groups == 1 else _joined(batch)
            batch = []


def _on_dask(tasks: Sequence[FitTask], make_model: ModelFactory, make_clinical: ModelFactory,
             x: pd.DataFrame, y: pd.DataFrame, scheduler: str | None, log: Log,
             organs_per_task: int | None, organ_groups: Sequence[Sequence[str]] | None
             ) -> Iterator[TaskResult]:
    """Organ-group x task futures on a dask cluster; each task's organ models joined,
    yielded in task order."""
    from distributed import KilledWorker, as_completed

    organs = list(y.columns)
    with _client(scheduler, log) as client:
        if organs_per_task is None and not organ_groups:
            threads = sum(client.nthreads().values())
            groups = min(len(organs), -(-3 * threads // len(tasks)))
            organs_per_task = -(-len(organs) // max(groups, 1))
        groups = ([list(g) for g in organ_groups] if organ_groups else
                  [organs[i:i + organs_per_task] for i in range(0, len(organs), organs_per_task)])
        log(f"dask: {len(tasks)} fits x {len(groups)} organ group(s) "
            f"of up to {max(len(g) for g in groups)} organ(s)")
        x_shared, y_shared = client.scatter([x, y], broadcast=True)
        futures, place = [], {}
        for k, task in enumerate(tasks):
            for j, group in enumerate(groups):
                future = client.submit(fit_task, make_model, make_clinical, x_shared, y_shared,
                                       task, 1, group, key=f"fit-{k}-{j}", pure=False)
                futures.append(future)
                place[future.key] = (k, j)
        parts: list[list[TaskResult | None]] = [[None] * len(groups) for _ in tasks]
        remaining = [len(groups)] * len(tasks)
        ready = 0
        for future in as_completed(futures):
            k, j = place[future.key]
            try:
                parts[k][j] = future.result()
            except (KilledWorker, CancelledError, OSError) as exc:  # a worker or its link died
                raise ModelError(f"the dask task fitting {', '.join(groups[j])} "
                                 f"({_task_name(k, tasks)}) failed: {exc}") from exc
            future.release()
            remaining[k] -= 1
            while ready < len(tasks) and remaining[ready] == 0:
                yield _joined(parts[ready])
                parts[ready] = []
                ready += 1


def _task_name(k: int, tasks: Sequence[FitTask]) -> str:
    return "the final model" if tasks[k].test is None else f"fold {k + 1}"


def _joined(parts: Sequence[TaskResult | None]) -> TaskResult:
    """One organ group's results after another, as one task's result."""
    done = [p for p in parts if p is not None]
    model = OrganotropismModel.join([p.model for p in done])
    if done[0].clinical is None:
        return TaskResult(model, None)
    return TaskResult(model, OrganotropismModel.join([p.clinical for p in done]))


@contextlib.contextmanager
def _client(scheduler: str | None, log: Log):
    """A client of the scheduler at `scheduler`, whose workers must run this release; or of
    a LocalCluster of one single-threaded worker process per usable core."""
    import logging
    from importlib import metadata

    from distributed import Client, LocalCluster

    if scheduler is None:
        workers = usable_cores()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            log(f"dask: a LocalCluster of {workers} worker process(es)")
            yield client
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError.about("{scheduler}: cannot reach the dask scheduler at "
                                + braced(f"{scheduler!r} ({exc})")) from exc
    with client:
        ours = metadata.version("organo-predict")
        try:
            theirs = client.run(metadata.version, "organo-predict")
        except metadata.PackageNotFoundError as exc:
            raise ConfigError(f"a worker of the dask scheduler at {scheduler!r} does not "
                              "have organo-predict installed") from exc
        if not theirs:
            raise ConfigError(f"the dask scheduler at {scheduler!r} has no workers")
        other = {w: v for w, v in theirs.items() if v != ours}
        if other:
            raise ConfigError(f"workers of the dask scheduler at {scheduler!r} run another "
                              f"organo-predict: {other} (here {ours})")
        log(f"dask: scheduler {scheduler}, {len(theirs)} worker(s)")
        yield client
