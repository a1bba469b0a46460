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

Pure computation apart from the engines' processes: no file or network IO here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ._errors import ConfigError, ModelError, braced
from ._models import OrganotropismModel
from ._threads import usable_cores

__all__ = ["ENGINES", "Engine", "FitTask", "TaskResult", "check_engine", "fit_task", "run_fits"]

Engine = Literal["local", "dask"]
ENGINES: tuple[str, ...] = get_args(Engine)
ModelFactory = Callable[..., OrganotropismModel]
Scores = tuple[np.ndarray, np.ndarray, np.ndarray]  # model, prior, clinical on held-out rows
Log = Callable[[str], None]


@dataclass(frozen=True)
class FitTask:
    """Rows to fit on, and rows to score (None: the final model, nothing held out)."""

    train: np.ndarray
    test: np.ndarray | None


@dataclass
class TaskResult:
    """A task's model, and (a fold's) probabilities of the model, the subtype prior and the
    clinical baseline on its held-out rows, (n held out, organs)."""

    model: OrganotropismModel
    scores: Scores | None


def run_fits(tasks: Sequence[FitTask], make_model: ModelFactory, make_clinical: ModelFactory,
             x: pd.DataFrame, y: pd.DataFrame, engine: Engine = "local",
             scheduler: str | None = None, log: Log = print,
             organs_per_task: int | None = None) -> Iterator[TaskResult]:
    """Every task's result, in the order of `tasks`, as each becomes available.
    `make_model(n_jobs=..., organs=...)` and `make_clinical(...)` make unfitted models
    (partials: worker processes receive them). On dask, `organs_per_task` organs go in one
    task (None: as many as keep every worker busy with about three tasks; every organ
    together on two workers, since each task copies the training rows and bins them
    again)."""
    check_engine(engine, scheduler)
    if engine == "dask":
        return _on_dask(tasks, make_model, make_clinical, x, y, scheduler, log,
                        organs_per_task)
    return _local(tasks, make_model, make_clinical, x, y)


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
    held-out probabilities of the model, the prior and the clinical baseline."""
    organs = list(y.columns if organs is None else organs)
    x_train, y_train = x.iloc[task.train], y.iloc[task.train][organs]
    model = make_model(n_jobs=n_jobs, organs=organs).fit(x_train, y_train)
    if task.test is None:
        return TaskResult(model, None)
    baseline = make_clinical(n_jobs=n_jobs, organs=organs).fit(x_train, y_train)
    held_out = x.iloc[task.test]
    return TaskResult(model, (model.predict_proba(held_out).to_numpy(),
                              model.prior_proba(held_out).to_numpy(),
                              baseline.predict_proba(held_out).to_numpy()))


def _local(tasks: Sequence[FitTask], make_model: ModelFactory, make_clinical: ModelFactory,
           x: pd.DataFrame, y: pd.DataFrame) -> Iterator[TaskResult]:
    workers = min(usable_cores(), len(tasks))
    if workers <= 1:
        return (fit_task(make_model, make_clinical, x, y, task, None) for task in tasks)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=workers, backend="loky", return_as="generator")(
        delayed(fit_task)(make_model, make_clinical, x, y, task, 1) for task in tasks)


def _on_dask(tasks: Sequence[FitTask], make_model: ModelFactory, make_clinical: ModelFactory,
             x: pd.DataFrame, y: pd.DataFrame, scheduler: str | None, log: Log,
             organs_per_task: int | None) -> Iterator[TaskResult]:
    """Organ-group x task futures on a dask cluster; each task's organ models joined,
    yielded in task order."""
    from distributed import KilledWorker, as_completed

    organs = list(y.columns)
    with _client(scheduler, log) as client:
        if organs_per_task is None:
            threads = sum(client.nthreads().values())
            groups = min(len(organs), -(-3 * threads // len(tasks)))
            organs_per_task = -(-len(organs) // max(groups, 1))
        groups = [organs[i:i + organs_per_task] for i in range(0, len(organs), organs_per_task)]
        log(f"dask: {len(tasks)} fits x {len(groups)} organ group(s) "
            f"of up to {organs_per_task} organ(s)")
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
    if done[0].scores is None:
        return TaskResult(model, None)
    return TaskResult(model, tuple(np.concatenate([p.scores[i] for p in done], axis=1)
                                   for i in range(3)))


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
