"""Benchmark: the default experiment end to end (goal: <= 120 s, peak memory <= 3 GB), and
with `--concurrent N`, N experiments started together against a lone one, in one run.

Runs `organo-predict experiment` in child processes, each in its own scratch folder (its own
SQLite MLflow store), and reads each child's peak RSS from the OS (`/usr/bin/time` when
present, else the children's maximum). With --concurrent the lone run goes first, then the
N together; each one's wall time is reported with its ratio to the lone one (fair sharing
of the cores would be N x on a machine with fewer cores than jobs x threads).

Run: python benchmarks/bench_experiment.py [--concurrent 2] [--no-mlflow] [--spin-count N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start(folder: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, float]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if args.spin_count is not None:
        env["GOMP_SPINCOUNT"] = str(args.spin_count)
    command = [sys.executable, "-m", "organo_predict.cli", "experiment", "--report-dir", "rep"]
    if args.no_mlflow:
        command.append("--no-mlflow")
    if Path("/usr/bin/time").exists():
        command = ["/usr/bin/time", "-f", "%M", "-o", str(folder / "rss.txt"), *command]
    folder.mkdir(parents=True, exist_ok=True)
    return (subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL),
            time.perf_counter())


def finish(job: tuple[subprocess.Popen, float], folder: Path) -> tuple[float, float, dict]:
    process, started = job
    if process.wait() != 0:
        raise SystemExit(f"experiment in {folder} failed ({process.returncode})")
    elapsed = time.perf_counter() - started
    rss = folder / "rss.txt"
    peak_gb = (int(rss.read_text().split()[-1]) / 1024 / 1024 if rss.exists() else
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024)
    return elapsed, peak_gb, json.loads((folder / "rep" / "metrics.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--concurrent", type=int, default=0, help="also run N experiments at once")
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument("--spin-count", type=int, help="GOMP_SPINCOUNT for the children "
                                                  "(default: the package's own)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lone, peak, metrics = finish(start(root / "lone", args), root / "lone")
        print(f"default experiment alone: {lone:.1f} s wall, peak RSS {peak:.2f} GB, "
              f"{metrics['n_patients']} patients, macro within-type AUROC main 8 "
              f"{metrics['macro_within_type_auroc_main8']!r} (prior "
              f"{metrics['macro_prior_within_type_auroc_main8']:.3f}); "
              f"{len(os.sched_getaffinity(0))} cores")
        if args.concurrent > 1:
            folders = [root / f"run{i}" for i in range(args.concurrent)]
            jobs = [start(f, args) for f in folders]
            for i, (job, folder) in enumerate(zip(jobs, folders, strict=True)):
                elapsed, peak, other = finish(job, folder)
                same = other["macro_within_type_auroc_main8"] == metrics[
                    "macro_within_type_auroc_main8"]
                print(f"  {args.concurrent} at once, #{i + 1}: {elapsed:.1f} s "
                      f"({elapsed / lone:.2f}x alone), peak RSS {peak:.2f} GB, "
                      f"metrics {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
