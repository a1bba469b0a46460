"""Benchmark: load the embedded MSK-MET cohort (goal: <= 3 s on the 2-core reference machine).

Run: python benchmarks/bench_load.py [--repeat N]
"""

from __future__ import annotations

import resource
import time

from _common import repeats

import organo_predict as op


def main() -> None:
    repeat = repeats(__doc__, 5)
    path = op.datasets.msk_met_path()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        cohort = op.load_study(path)
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times.sort()
    print(f"load_study(embedded msk_met_2021): {len(cohort.patients)} patients, "
          f"{len(cohort.mutations)} mutations; best {times[0]:.2f} s, median "
          f"{times[len(times) // 2]:.2f} s over {repeat} runs; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
