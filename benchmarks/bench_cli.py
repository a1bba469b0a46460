"""Benchmark: how long the commands a researcher types by hand take, old code and new in one
run. Goals (#25): `explain ID` with the registry champion <= 1.5 s warm, <= 4 s cold
(<= 1.0 s warm from a bundle folder); `mechanisms` <= 1.5 s warm; `--help` and argument
errors <= 0.3 s; `serve`: /health <= 2.5 s after start, first /predict <= 50 ms.

Every command runs in a child process in `--home`, a folder whose `mlflow.db` holds a
registered champion (`organo-predict experiment` run there). Wall time from the parent;
peak RSS of that child alone (`os.wait4`). "cold": the first run with an empty per-user
cache (`ORGANO_PREDICT_CACHE_DIR` pointed at a new folder: no TreeSHAP tables, no columnar
copy of the embedded cohort); "warm": the median of `--repeat` runs after it. The file
system cache is warm in both. `--baseline CHECKOUT` runs another checkout's code (a git
worktree of an older commit) the same way first: its package goes first on PYTHONPATH.

Run: python benchmarks/bench_cli.py --home DIR [--baseline CHECKOUT] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _checkout import importable

PATIENT = "P-0000280-T01-IM3"  # a lung adenocarcinoma of the embedded cohort


def commands(bundle: Path) -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "argument error (--organ brain)": ["explain", PATIENT, "--organ", "brain"],
        "explain ID --organ liver": ["explain", PATIENT, "--organ", "liver"],
        "explain ID --json": ["explain", PATIENT, "--json"],
        "explain ID (bundle folder)": ["explain", PATIENT, "--model", str(bundle)],
        "mechanisms": ["mechanisms"],
        "score embedded (23,539)": ["score", "embedded:msk_met", "--out", "scores.parquet",
                                    "--overwrite"],
    }


def run(argv: list[str], home: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, exit code) of `organo-predict argv` in `home`."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "organo_predict.cli", *argv], cwd=home,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, child.returncode


def serve(home: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds from start to the first /health answer, ms of the first /predict)."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "organo_predict.cli", "serve", "--port",
                               str(port), "--no-access-log"], cwd=home, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise SystemExit("serve failed to start") from None
                time.sleep(0.05)
        health = time.perf_counter() - started
        body = {"cancer_type": "Non-Small Cell Lung Cancer", "subtype": "LUAD",
                "mutations": [{"gene": "EGFR", "protein_change": "L858R"}]}
        first = time.perf_counter()
        assert httpx.post(f"http://127.0.0.1:{port}/predict", json=body).status_code == 200
        return health, (time.perf_counter() - first) * 1000
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(label: str, code: Path | None, home: Path, bundle: Path, repeat: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if code is not None:  # its package and its own TOML files (see _checkout)
        env["PYTHONPATH"] = str(importable(code.resolve()))
    env["ORGANO_PREDICT_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-cli-cache-")
    print(f"\n{label}")
    print(f"| command | cold s | warm s (median of {repeat}) | peak RSS MB (warm) | exit |")
    print("|---|---|---|---|---|")
    for name, argv in commands(bundle).items():
        cold = run(argv, home, env)
        warm = [run(argv, home, env) for _ in range(repeat)]
        print(f"| {name} | {cold[0]:.2f} | {statistics.median(w[0] for w in warm):.2f} | "
              f"{statistics.median(w[1] for w in warm):.0f} | {warm[-1][2]} |", flush=True)
    health, predict = zip(*(serve(home, env) for _ in range(repeat)), strict=True)
    print(f"| serve: /health after start | | {statistics.median(health):.2f} | | |")
    print(f"| serve: first /predict, ms | | {statistics.median(predict):.0f} | | |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, required=True,
                   help="folder with mlflow.db and mlruns/ holding the registered champion")
    p.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                   help="first run another checkout's code (a git worktree of an older commit)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    home = args.home.resolve()
    bundles = sorted(home.glob("mlruns/*/models/*/artifacts/artifacts/bundle"),
                     key=lambda b: b.stat().st_mtime)
    if not (home / "mlflow.db").is_file() or not bundles:
        raise SystemExit(f"{home}: no mlflow.db with a logged model; run "
                         "`organo-predict experiment` there first")
    if args.baseline is not None:
        measure(f"baseline {args.baseline}", args.baseline, home, bundles[-1], args.repeat)
    measure("this checkout", None, home, bundles[-1], args.repeat)


if __name__ == "__main__":
    main()
