"""Benchmark: the default experiment end to end (goal: <= 120 s, peak memory <= 3 GB), and
with `--concurrent N`, N experiments started together against a lone one, in one run.

Runs `organo-predict experiment` in child processes, each in its own scratch folder (its own
SQLite MLflow store). Peak memory is the largest sum of resident memory over the child and
its worker processes, sampled every 0.2 s from /proc. With --concurrent the lone run goes first, then the
N together; each one's wall time is reported with its ratio to the lone one (fair sharing
of the cores would be N x on a machine with fewer cores than jobs x threads).

Run: python benchmarks/bench_experiment.py [--concurrent 2] [--no-mlflow] [--spin-count N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


class TreeMemory:
    """The peak of the summed resident memory of a process and its descendants (/proc)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.2):
            parents: dict[int, int] = {}
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                    parents[int(stat.parent.name)] = int(fields[1])
                except (OSError, IndexError, ValueError):
                    continue
            tree, grew = {self.pid}, True
            while grew:
                grew = False
                for pid, parent in parents.items():
                    if parent in tree and pid not in tree:
                        tree.add(pid)
                        grew = True
            total = 0
            for pid in tree:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak_kb / 1024 / 1024


def start(folder: Path, args: argparse.Namespace
          ) -> tuple[subprocess.Popen, float, TreeMemory]:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if args.spin_count is not None:
        env["GOMP_SPINCOUNT"] = str(args.spin_count)
    command = [sys.executable, "-m", "organo_predict.cli", "experiment", "--report-dir", "rep"]
    if args.no_mlflow:
        command.append("--no-mlflow")
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL)
    return process, time.perf_counter(), TreeMemory(process.pid)


def finish(job: tuple[subprocess.Popen, float, TreeMemory], folder: Path
           ) -> tuple[float, float, dict]:
    process, started, memory = job
    if process.wait() != 0:
        raise SystemExit(f"experiment in {folder} failed ({process.returncode})")
    elapsed = time.perf_counter() - started
    peak_gb = memory.stop()
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
        print(f"default experiment alone: {lone:.1f} s wall, peak RSS (all its processes) "
              f"{peak:.2f} GB, "
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
