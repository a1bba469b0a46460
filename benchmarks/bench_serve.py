"""Benchmark: `/predict` under load, side by side with `mlflow models serve` in the same run.

Both servers serve the same registered model on loopback; wrk (Debian package `wrk`) holds
32 concurrent connections for a fixed time against each, cycling through real patients of
the embedded cohort (different bodies, not one request repeated). Ours answers with the
per-organ probabilities, baselines and top-3 drivers with mechanisms; MLflow's
`/invocations` takes the already-built feature row and returns probabilities only.
A third row is the floor: the same HTTP stack and validation answering a fixed response
(`_floor_app.py`), what any model behind this stack adds to.
Goals: p99 <= 25 ms at 32 connections, and >= 3x MLflow's requests/s.

Run (after `organo-predict experiment` has registered a champion):
    python benchmarks/bench_serve.py [--model models:/organotropism@champion]
        [--connections 32] [--duration 20] [--workers 2] [--patients 500]
        [--skip-floor] [--skip-mlflow]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _common import cohort
from starlette.testclient import TestClient

import organo_predict as op

LUA = """
local bodies = {}
local path = "%(path)s"
for line in io.lines("%(file)s") do bodies[#bodies + 1] = line end
local counter = 0
function setup(thread) counter = counter + 1; thread:set("offset", counter * 7919) end
function init(args) i = offset end
function request()
  i = i + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
                    bodies[(i %% #bodies) + 1])
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(url: str, path: str, bodies: Path, connections: int, duration: int,
            threads: int) -> dict[str, float]:
    script = bodies.with_suffix(".lua")
    script.write_text(LUA % {"path": path, "file": str(bodies)})
    # warm-up (not measured): every worker process compiled and cached
    subprocess.run(["wrk", "-t1", "-c4", "-d3s", "-s", str(script), url], check=True,
                   capture_output=True)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "60s",
                          "--latency", "-s", str(script), url], check=True,
                         capture_output=True, text=True).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", out, re.M))
    if "50" not in latency:
        raise SystemExit(f"cannot read wrk output:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {"p50_ms": to_ms(latency["50"]), "p90_ms": to_ms(latency["90"]),
            "p99_ms": to_ms(latency["99"]), "rps": rps, "requests": total,
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def measure(command: list[str], port: int, health: str, path: str, bodies: Path,
            args: argparse.Namespace, env: dict[str, str] | None = None) -> dict[str, float]:
    """Start a server, check one request, load it with wrk, stop it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {}),
           # `mlflow models serve` execs `uvicorn` by name: this interpreter's, even when
           # its venv is not activated
           "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                    os.environ.get("PATH", "")])}
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + health, server)
        httpx.post(base + path, content=bodies.read_text().splitlines()[0],
                   headers={"content-type": "application/json"},
                   timeout=30).raise_for_status()
        return run_wrk(base, path, bodies, args.connections, args.duration, args.wrk_threads)
    finally:
        stop(server)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=op.DEFAULT_MODEL_URI)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=int, default=20, help="seconds per server")
    p.add_argument("--workers", type=int, default=2, help="server processes, both servers")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--patients", type=int, default=500)
    p.add_argument("--skip-mlflow", action="store_true")
    p.add_argument("--skip-floor", action="store_true",
                   help="skip the floor: the same HTTP stack answering without a model")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    data = cohort()
    loaded = op.load_model(args.model)
    rng = np.random.default_rng(0)
    ids = list(rng.choice(data.samples.index, args.patients, replace=False))
    sample = data.subset(ids)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    ours_file = tmp / "predict.jsonl"
    ours_file.write_text("".join(p.model_dump_json(exclude_none=True) + "\n"
                                 for p in op.profiles_from_cohort(sample)))
    features = loaded.builder.transform_named(sample)
    mlflow_file = tmp / "invocations.jsonl"
    columns = list(features.columns)
    with mlflow_file.open("w") as fh:
        for row in features.itertuples(index=False):
            values = [None if isinstance(v, float) and math.isnan(v) else v for v in row]
            fh.write(json.dumps({"dataframe_split": {"columns": columns, "data": [values]}})
                     + "\n")
    sizes = [len(line) for line in ours_file.read_text().splitlines()]
    print(f"{args.patients} real patients; /predict bodies median {int(np.median(sizes))} B; "
          f"{args.connections} connections, {args.duration} s each, {args.workers} workers, "
          f"{os.cpu_count()} cores")

    results: dict[str, dict[str, float]] = {}
    port = free_port()
    results["organo-predict /predict"] = measure(
        [sys.executable, "-m", "organo_predict.cli", "serve", "--model", args.model,
         "--port", str(port), "--workers", str(args.workers), "--no-access-log"],
        port, "/health", "/predict", ours_file, args)
    if not args.skip_floor:
        floor_body = tmp / "floor.json"
        with TestClient(op.create_app(loaded)) as client:  # a real answer, served once
            answer = client.post("/predict", content=ours_file.read_text().splitlines()[0],
                                 headers={"content-type": "application/json"})
        floor_body.write_bytes(answer.raise_for_status().content)
        port = free_port()
        results["floor: same stack, no model"] = measure(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent),
             "_floor_app:app", "--port", str(port), "--workers", str(args.workers),
             "--no-access-log", "--log-level", "warning"],
            port, "/health", "/predict", ours_file, args,
            env={"ORGANO_PREDICT_FLOOR_BODY": str(floor_body)})
    if not args.skip_mlflow:
        port = free_port()
        results["mlflow models serve /invocations"] = measure(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", args.model,
             "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1",
             "--workers", str(args.workers)],
            port, "/ping", "/invocations", mlflow_file, args)
    print(f"{'server':<36}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'req/s':>10}{'non-2xx':>9}")
    for name, r in results.items():
        print(f"{name:<36}{r['p50_ms']:>9.1f}{r['p90_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['rps']:>10.0f}{r['non_2xx']:>9}" + (f"  {r['socket_errors']}"
                                                        if r["socket_errors"] else ""))
    if "mlflow models serve /invocations" in results:
        ours_r = results["organo-predict /predict"]
        theirs = results["mlflow models serve /invocations"]
        print(f"requests/s ratio: {ours_r['rps'] / theirs['rps']:.1f}x; p99 goal <= 25 ms: "
              f"{'met' if ours_r['p99_ms'] <= 25 else 'NOT met'}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
