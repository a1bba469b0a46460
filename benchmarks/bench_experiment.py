"""Benchmark: the default experiment end to end (goal: <= 60 s, peak memory <= 3 GB), and
with `--concurrent N`, N experiments started together against a lone one, in one run.
With `--engine dask` (repeatable: `--engine local --engine dask`) each engine runs alone, one
after the other, and the metrics of each are compared with the first's.

Runs `organo-predict experiment` in child processes, each in its own scratch folder (its own
SQLite MLflow store). Peak memory is the largest sum of resident memory over the child and
its worker processes, sampled every 0.2 s from /proc. With --concurrent the lone run goes first, then the
N together; each one's wall time is reported with its ratio to the lone one (fair sharing
of the cores would be N x on a machine with fewer cores than jobs x threads).

Run: python benchmarks/bench_experiment.py [--concurrent 2] [--no-mlflow] [--spin-count N]
     [--engine local|dask ...]
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

from _checkout import importable


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


def start(folder: Path, args: argparse.Namespace, engine: str = "local",
          code: Path | None = None) -> tuple[subprocess.Popen, float, TreeMemory]:
    """An experiment in `folder`, on `engine`, of this checkout's code or of `code`'s (the
    root of another checkout: its package goes first on the path)."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if code is not None:  # its package and its own TOML files (see _checkout)
        env["PYTHONPATH"] = str(importable(code.resolve()))
    if args.spin_count is not None:
        env["GOMP_SPINCOUNT"] = str(args.spin_count)
    command = [sys.executable, "-m", "organo_predict.cli", "experiment", "--report-dir", "rep"]
    if code is not None:  # the other checkout's own default config, not this one's
        command += ["--config", str((code / "experiments" / "default.toml").resolve())]
    if engine != "local":  # older checkouts have no --engine
        command += ["--engine", engine]
    if args.no_mlflow:
        command.append("--no-mlflow")
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "log.txt").open("w")  # the run's progress lines, read by `tail_s`
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                               stderr=log)
    log.close()
    return process, time.perf_counter(), TreeMemory(process.pid)


def finish(job: tuple[subprocess.Popen, float, TreeMemory], folder: Path
           ) -> tuple[float, float, dict]:
    process, started, memory = job
    if process.wait() != 0:
        raise SystemExit(f"experiment in {folder} failed ({process.returncode})")
    elapsed = time.perf_counter() - started
    peak_gb = memory.stop()
    return elapsed, peak_gb, json.loads((folder / "rep" / "metrics.json").read_text())


def tail_s(folder: Path, elapsed: float) -> float:
    """Seconds from the final model's fit to the end of the run, both on the run's own
    clock (its progress line, and `elapsed` from its metrics.json)."""
    for line in (folder / "log.txt").read_text().splitlines():
        if line.startswith("final model fitted ("):
            return elapsed - float(line.split("(")[1].split()[0])
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--concurrent", type=int, default=0, help="also run N experiments at once")
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument("--spin-count", type=int, help="GOMP_SPINCOUNT for the children "
                                                  "(default: the package's own)")
    p.add_argument("--engine", action="append", choices=("local", "dask"),
                   help="engine(s) to run alone, in order (default: local); --concurrent "
                        "runs the first")
    p.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                   help="first run another checkout's code alone (a git worktree of an older "
                        "commit): old and new measured in one run")
    args = p.parse_args()
    engines = args.engine or ["local"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.baseline is not None:
            elapsed, peak, before = finish(start(root / "baseline", args, code=args.baseline),
                                           root / "baseline")
            print(f"baseline {args.baseline} alone: {elapsed:.1f} s wall "
                  f"({tail_s(root / 'baseline', before['elapsed_s']):.1f} s after the last fit), peak RSS "
                  f"{peak:.2f} GB, macro within-type AUROC main 8 "
                  f"{before['macro_within_type_auroc_main8']!r}")
        alone: dict[str, tuple[float, dict]] = {}
        for engine in engines:
            folder = root / f"lone-{engine}"
            elapsed, peak, metrics = finish(start(folder, args, engine), folder)
            alone[engine] = (elapsed, metrics)
            same = _same(metrics, alone[engines[0]][1])
            print(f"default experiment alone, {engine} engine: {elapsed:.1f} s wall "
                  f"({tail_s(folder, metrics['elapsed_s']):.1f} s after the last fit), peak RSS "
                  f"(all its processes) {peak:.2f} GB, "
                  f"{metrics['n_patients']} patients, macro within-type AUROC main 8 "
                  f"{metrics['macro_within_type_auroc_main8']!r} (prior "
                  f"{metrics['macro_prior_within_type_auroc_main8']:.3f}); "
                  f"{len(os.sched_getaffinity(0))} cores"
                  + ("" if engine == engines[0] else
                     f"; sites and mechanisms {'identical' if same else 'DIFFERENT'} "
                     f"to the {engines[0]} engine's"))
        lone, metrics = alone[engines[0]]
        if args.concurrent > 1:
            folders = [root / f"run{i}" for i in range(args.concurrent)]
            jobs = [start(f, args, engines[0]) for f in folders]
            for i, (job, folder) in enumerate(zip(jobs, folders, strict=True)):
                elapsed, peak, other = finish(job, folder)
                print(f"  {args.concurrent} at once ({engines[0]}), #{i + 1}: {elapsed:.1f} s "
                      f"({elapsed / lone:.2f}x alone), peak RSS {peak:.2f} GB, "
                      f"metrics {'identical' if _same(other, metrics) else 'DIFFERENT'}")


def _same(a: dict, b: dict) -> bool:
    """The same per-organ metrics and mechanism table, as text (NaN equals itself)."""
    return all(json.dumps(a[k], sort_keys=True) == json.dumps(b[k], sort_keys=True)
               for k in ("sites", "mechanisms", "macro_within_type_auroc_main8"))


if __name__ == "__main__":
    main()
