"""The project's net benefit against dcurves', side by side, on the same predictions.

dcurves (the maintained decision-curve package) cannot be installed with the project: it
needs lifelines, which pins pandas < 3. So it runs in its own environment, given as
--dcurves-python (a Python with `pip install dcurves`); this script writes the predictions
to a file, has that Python run `dcurves.dca` on them, and compares the curves (model,
treat-all, treat-none) with `_decision_curves.net_benefit`, and the time of each.

    python -m venv /tmp/dcv && /tmp/dcv/bin/pip install dcurves
    python benchmarks/check_dcurves.py --dcurves-python /tmp/dcv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from organo_predict import net_benefit

DCURVES_SIDE = r"""
import json, sys, time
import numpy as np, pandas as pd
import dcurves
data = np.load(sys.argv[1])
frame = pd.DataFrame({"outcome": data["labels"].astype(int), "model": data["model"],
                      "prior": data["prior"]})
start = time.perf_counter()
out = dcurves.dca(data=frame, outcome="outcome", modelnames=["model", "prior"],
                  thresholds=list(data["thresholds"]))
seconds = time.perf_counter() - start
curves = {m: out[out["model"] == m].sort_values("threshold")["net_benefit"].tolist()
          for m in ("model", "prior", "all", "none")}
json.dump({"curves": curves, "seconds": seconds, "version": dcurves.__version__ if
           hasattr(dcurves, "__version__") else "?"}, open(sys.argv[2], "w"))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dcurves-python", required=True,
                        help="a Python interpreter with dcurves installed")
    parser.add_argument("--n", type=int, default=20_000, help="patients (default 20,000)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    prior = rng.choice([0.1, 0.3, 0.5], args.n)  # a cancer-type prior: few distinct values
    logit = np.log(prior / (1 - prior)) + rng.normal(0, 0.8, args.n)
    model = np.round(1 / (1 + np.exp(-logit)), 3)  # rounded: ties at the thresholds
    labels = rng.random(args.n) < model
    # thresholds around the observed rate, as the report's (odds within x3), with ties
    thresholds = np.round(np.linspace(0.13, 0.58, 25), 3)
    start = time.perf_counter()
    ours = {"model": net_benefit(labels, model, thresholds),
            "prior": net_benefit(labels, prior, thresholds),
            "all": net_benefit(labels, np.ones(args.n), thresholds),
            "none": np.zeros(len(thresholds))}
    our_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        data, result = Path(tmp) / "data.npz", Path(tmp) / "result.json"
        np.savez(data, labels=labels, model=model, prior=prior, thresholds=thresholds)
        subprocess.run([args.dcurves_python, "-c", DCURVES_SIDE, str(data), str(result)],
                       check=True)
        theirs = json.loads(result.read_text())
    print(f"{args.n:,} patients, {len(thresholds)} thresholds "
          f"({thresholds[0]:.3f}-{thresholds[-1]:.3f})")
    worst = 0.0
    for name, curve in ours.items():
        diff = float(np.max(np.abs(np.asarray(theirs["curves"][name]) - curve)))
        worst = max(worst, diff)
        print(f"  {name:6s} max |ours - dcurves| = {diff:.2e}")
    print(f"time: ours {our_seconds * 1000:.1f} ms, dcurves.dca "
          f"{theirs['seconds'] * 1000:.1f} ms (model + prior + all + none)")
    return 0 if worst < 1e-12 else 1


if __name__ == "__main__":
    sys.exit(main())
