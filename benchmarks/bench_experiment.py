"""Benchmark: the default experiment end to end (goal: <= 120 s, peak memory <= 3 GB).

Runs `organo-predict experiment` in a child process in a scratch folder (its own SQLite
MLflow store) and reads the child's peak RSS from the OS.

Run: python benchmarks/bench_experiment.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "organo_predict.cli", "experiment",
                        "--report-dir", "rep"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
        metrics = json.loads((Path(tmp) / "rep" / "metrics.json").read_text())
    print(f"default experiment: {elapsed:.1f} s wall, peak RSS {peak_gb:.2f} GB, "
          f"{metrics['n_patients']} patients, macro within-type AUROC main 8 "
          f"{metrics['macro_within_type_auroc_main8']:.3f} (prior "
          f"{metrics['macro_prior_within_type_auroc_main8']:.3f})")


if __name__ == "__main__":
    main()
