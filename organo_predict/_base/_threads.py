"""How many threads the work may use, and how idle OpenMP threads wait.

Threads follow the cores this process may run on (`os.sched_getaffinity`), capped by
`OMP_NUM_THREADS` when set (the command line's `--threads N` sets it): never a constant.

LightGBM's OpenMP threads spin while they wait for the next parallel region (libgomp's
default spin count is 300,000). Alone that saves microseconds; when two jobs share the cores,
each spins on the cores the other needs. Measured on the 2-core reference machine, fitting
four organs on the default population: alone 4.7 s; two at once 192 s each (40x). With
GOMP_SPINCOUNT=1000 alone 5.7 s, two at once 11-12 s each; OMP_WAIT_POLICY=passive alone
10.9 s (2.3x slower), two at once 9-10 s; one thread per job alone 6.7 s, two at once 8.6 s.
The package sets GOMP_SPINCOUNT=1000 unless the environment says otherwise, and the
experiment fits its folds on a process pool with one thread each (docs/benchmarks.md,
`benchmarks/bench_experiment.py --concurrent 2`).
"""

from __future__ import annotations

import os

__all__ = ["SPIN_COUNT", "process_alive", "quiet_openmp", "usable_cores"]

SPIN_COUNT = "1000"  # libgomp spin iterations before a waiting thread sleeps


def quiet_openmp() -> None:
    """Short OpenMP spin waits, unless the environment sets its own; effective only before
    the OpenMP runtime starts (the package calls it on import, before LightGBM loads)."""
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)


def usable_cores() -> int:
    """The cores this process may run on, capped by OMP_NUM_THREADS when it is a number."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    if limit.isdigit() and int(limit) > 0:
        cores = min(cores, int(limit))
    return max(cores, 1)


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
