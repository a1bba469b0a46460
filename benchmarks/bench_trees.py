"""Benchmark: the engines that walk LightGBM's trees themselves, through the public
ShapEngine, old code and new in one run: compiled TreeSHAP of every organ for a few hundred
patients, compiled raw scores for 20,000, and per-pattern TreeSHAP of one organ for the whole
cohort. The numbers of each engine are also compared between the two checkouts (they must
be equal to the last bit: the decision rule moved, it did not change).

Each checkout runs in a child process of its own (`--baseline CHECKOUT`: its package first on
PYTHONPATH), on the same bundle and cohort; the best of `--repeat` runs is reported.

Run: python benchmarks/bench_trees.py --bundle DIR [--baseline CHECKOUT] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _checkout import importable

CHILD = r"""
import json, sys, time, warnings
import numpy as np
import organo_predict as op
warnings.simplefilter("ignore")
bundle, repeat, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
builder, model, _ = op.load_bundle(bundle)
cohort = op.datasets.msk_met()
x = builder.transform(cohort)
engine = op.ShapEngine(model)
engine.compile()
engine.contributions_all(x.iloc[:8])  # kernels compiled (or read from numba's cache)
engine.contributions(x.iloc[:1000], "LIVER")

def best(work):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result

few, compiled = best(lambda: engine.contributions_all(x.iloc[:768]))
scores, raw = best(lambda: engine.decision_function(x.iloc[:20000]))
cohort_s, liver = best(lambda: engine.contributions(x, "LIVER"))
np.savez(out, compiled=np.stack([np.column_stack(compiled[o]) if isinstance(compiled[o], tuple)
                                 else compiled[o] for o in model.organs_]),
         raw=raw, liver=np.column_stack(liver) if isinstance(liver, tuple) else liver)
print(json.dumps({"module": op.__file__, "compiled_768": few, "raw_20000": scores,
                  "treeshap_liver_all": cohort_s, "rows": len(x)}))
"""


def run(code_root: Path | None, bundle: Path, repeat: int, out: Path) -> dict:
    env = dict(os.environ)
    if code_root is not None:
        env["PYTHONPATH"] = str(code_root)
    done = subprocess.run([sys.executable, "-c", CHILD, str(bundle), str(repeat), str(out)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, required=True, help="a saved model bundle")
    p.add_argument("--baseline", type=Path, metavar="CHECKOUT")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    import numpy as np

    folder = Path(tempfile.mkdtemp(prefix="bench-trees-"))
    runs = {}
    if args.baseline:
        runs["baseline"] = run(importable(args.baseline), args.bundle, args.repeat,
                               folder / "baseline.npz")
    runs["this"] = run(None, args.bundle, args.repeat, folder / "this.npz")
    for name, r in runs.items():
        print(f"{name}: compiled TreeSHAP, 768 rows x every organ {r['compiled_768']:.3f} s; "
              f"compiled raw scores, 20,000 rows {r['raw_20000']:.3f} s; per-pattern "
              f"TreeSHAP, LIVER x {r['rows']:,} rows {r['treeshap_liver_all']:.2f} s "
              f"({r['module']})")
    if args.baseline:
        old, new = np.load(folder / "baseline.npz"), np.load(folder / "this.npz")
        same = {k: bool(np.array_equal(old[k], new[k], equal_nan=True)) for k in old.files}
        print(f"numbers equal to the last bit: {same}")


if __name__ == "__main__":
    main()
