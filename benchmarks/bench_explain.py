"""Benchmark: explain one patient for all organs (goal <= 5 ms) and SHAP for the whole cohort
(goal <= 60 s).

Run: python benchmarks/bench_explain.py [--model URI] [--patients N]
"""

from __future__ import annotations

import time

import numpy as np
from _common import cohort, model, parser

import organo_predict as op


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--patients", type=int, default=500)
    args = p.parse_args()
    data = cohort()
    loaded = model(args.model)
    features = loaded.builder.transform(data)
    explainer = op.Explainer(loaded.builder, loaded.model)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(features), size=args.patients, replace=False)
    explainer.explain(features.iloc[rows[:1]])  # warm-up: caches, thread, LightGBM configs
    times = []
    for i in rows:
        one = features.iloc[[i]]
        start = time.perf_counter()
        explainer.explain(one)
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    organs = loaded.model.organs_
    print(f"explain one patient, all {len(organs)} organs (top 5 drivers each way, mechanisms): "
          f"p50 {np.median(ms):.2f} ms, p90 {np.percentile(ms, 90):.2f} ms, "
          f"p99 {np.percentile(ms, 99):.2f} ms over {len(ms)} patients")
    start = time.perf_counter()
    for organ in organs:
        explainer.marker_contributions(features, organ)
    elapsed = time.perf_counter() - start
    print(f"cohort SHAP: {len(features):,} samples x {len(organs)} organs (marker level) in "
          f"{elapsed:.1f} s")


if __name__ == "__main__":
    main()
