"""Benchmark: the project's hand-written engines against the maintained libraries, same run.

Exact TreeSHAP for N patients x every organ's booster:
  - the project's `ShapEngine` (compiled LeafShap for <= 768 rows, TreeShap above),
  - LightGBM `predict(pred_contrib=True)`,
  - `shap.TreeExplainer` (on a LightGBM booster it calls `pred_contrib` itself),
  - `fasttreeshap-fixed` with its own algorithm (`shortcut=False`, algorithm "auto"),
  - `woodelf-explainer` (`WoodelfExplainer`, path-dependent).
Raw prediction of every organ (calibrated log-odds, same post-processing for all):
  - the project's compiled walker (`ShapEngine.decision_function` after `compile()`),
  - LightGBM `predict` (`OrganotropismModel.decision_function`),
  - treelite -> tl2cgen compiled shared library (gcc), and lleaves where it compiles.
Every SHAP engine is checked against `pred_contrib` (max |difference|), every predictor
against LightGBM. Libraries that are not installed are skipped and said; install them with
`pip install -e '.[bench]'`. Set-up (compilation, JIT) is timed apart from the workload.

Run: python benchmarks/bench_engines.py [--model URI] [--rows 1000 20000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _common import cohort, model, parser

import organo_predict as op

Shap = Callable[[pd.DataFrame], list[np.ndarray]]  # rows -> per booster (rows, features + 1)


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def shap_engines(loaded: op.LoadedModel, boosters: dict) -> dict[str, Callable[[], Shap]]:
    """Each engine's set-up, returning its SHAP function (raw score, bias last)."""
    organs = list(boosters)

    def data(x: pd.DataFrame) -> np.ndarray:  # what the boosters read, policies applied
        return loaded.model.inputs(x).data

    def ours() -> Shap:
        engine = op.ShapEngine(loaded.model)
        engine.compile()
        slopes = np.array([loaded.model.fits_[o].calibration[0] for o in organs])

        def run(x: pd.DataFrame) -> list[np.ndarray]:
            out = engine.contributions_all(x, organs)
            # back to the boosters' raw scale, to compare with the libraries (bias not compared)
            return [np.column_stack([out[o][0] / s, np.zeros(len(x))])
                    for o, s in zip(organs, slopes, strict=True)]
        return run

    def lightgbm() -> Shap:
        return lambda x: [b.predict(data(x), pred_contrib=True) for b in boosters.values()]

    def shap_tree() -> Shap:
        import shap
        explainers = [shap.TreeExplainer(b) for b in boosters.values()]
        return lambda x: [_with_bias(e.shap_values(data(x), check_additivity=False))
                          for e in explainers]

    def fasttreeshap() -> Shap:
        import fasttreeshap_fixed as fts
        explainers = [fts.TreeExplainer(b, algorithm="auto", n_jobs=os.cpu_count(),
                                        shortcut=False) for b in boosters.values()]
        if any(e.model.trees is None for e in explainers):
            raise NotImplementedError("its tree reader skips LightGBM boosters with "
                                      "categorical splits (cancer_type, subtype)")
        return lambda x: [_with_bias(e.shap_values(data(x), check_additivity=False))
                          for e in explainers]

    def woodelf() -> Shap:
        from woodelf import WoodelfExplainer
        explainers = [WoodelfExplainer(b) for b in boosters.values()]
        names = loaded.model.feature_names_
        return lambda x: [_with_bias(e.shap_values(pd.DataFrame(data(x), columns=names)))
                          for e in explainers]

    return {"LightGBM pred_contrib (reference)": lightgbm, "organo-predict ShapEngine": ours,
            "shap.TreeExplainer": shap_tree, "fasttreeshap-fixed (own algorithm)": fasttreeshap,
            "woodelf-explainer": woodelf}


def _with_bias(values: object) -> np.ndarray:
    values = values[-1] if isinstance(values, list) else np.asarray(values)
    if values.ndim == 3:  # (rows, features, outputs)
        values = values[..., -1]
    return np.column_stack([values, np.zeros(len(values))])




def predictors(loaded: op.LoadedModel, boosters: dict, tmp: Path
               ) -> dict[str, Callable[[], Callable[[pd.DataFrame], np.ndarray]]]:
    """Each predictor's set-up, returning raw scores (rows, organs)."""
    def ours() -> Callable[[pd.DataFrame], np.ndarray]:
        engine = op.ShapEngine(loaded.model)
        engine.compile()
        return engine.decision_function

    def lightgbm() -> Callable[[pd.DataFrame], np.ndarray]:
        return loaded.model.decision_function

    def tl2cgen() -> Callable[[pd.DataFrame], np.ndarray]:
        import tl2cgen
        import treelite
        libs = []
        for i, b in enumerate(boosters.values()):
            path = tmp / f"organ{i}.so"
            tl2cgen.export_lib(treelite.frontend.from_lightgbm(b), toolchain="gcc",
                               libpath=str(path), params={"parallel_comp": os.cpu_count()})
            libs.append(tl2cgen.Predictor(str(path), nthread=os.cpu_count()))
        return _calibrating(loaded, boosters, lambda x: [
            # tl2cgen 1.0's DMatrix asks numpy for copy=False: hand it the exact layout
            np.asarray(p.predict(tl2cgen.DMatrix(np.ascontiguousarray(x, dtype=np.float64),
                                                 dtype="float64"), pred_margin=True)
                       ).reshape(len(x)) for p in libs])

    def lleaves() -> Callable[[pd.DataFrame], np.ndarray]:
        import lleaves
        models = []
        for i, b in enumerate(boosters.values()):
            path = tmp / f"organ{i}.txt"
            b.save_model(str(path))
            m = lleaves.Model(model_file=str(path))
            m.compile(cache=str(tmp / f"organ{i}.o"))
            models.append(m)
        return _calibrating(loaded, boosters, lambda x: [m.predict(x, raw_score=True)
                                                         for m in models])

    return {"LightGBM predict (reference)": lightgbm, "organo-predict compiled walker": ours,
            "tl2cgen (treelite model, gcc)": tl2cgen, "lleaves": lleaves}


def _calibrating(loaded: op.LoadedModel, boosters: dict,
                 raw: Callable[[np.ndarray], list[np.ndarray]]
                 ) -> Callable[[pd.DataFrame], np.ndarray]:
    """A raw-score predictor behind the model's own calibration (prior offset, Platt)."""
    def run(x: pd.DataFrame) -> np.ndarray:
        inputs = loaded.model.inputs(x)
        scores = dict(zip(boosters, raw(inputs.data), strict=True))
        return loaded.model.calibrated(inputs, lambda organ, _: scores[organ])
    return run


def marker_engines(loaded: op.LoadedModel, boosters: dict) -> dict[str, Callable[[], Shap]]:
    """SHAP summed per marker (what explanations show): the project's engine sums inside
    its kernel; with LightGBM, `pred_contrib` then a sparse feature -> marker sum."""
    layout = op.Explainer(loaded.builder, loaded.model).layout_  # feature -> marker
    names, markers, index = loaded.model.feature_names_, layout.markers, layout.groups
    to_markers = sp.csr_matrix((np.ones(len(names)), (np.arange(len(names)), index)),
                               shape=(len(names), len(markers)))
    organs = list(boosters)

    def ours() -> Shap:
        engine = op.ShapEngine(loaded.model)
        engine.compile()
        slopes = {o: loaded.model.fits_[o].calibration[0] for o in organs}
        return lambda x: [c / slopes[o] for o, (c, _) in engine.contributions_all(
            x, organs, index, len(markers)).items()]

    def lightgbm() -> Shap:
        return lambda x: [np.asarray((sp.csr_matrix(b.predict(
            loaded.model.inputs(x).data, pred_contrib=True)[:, :-1]) @ to_markers).todense())
            for b in boosters.values()]

    return {"LightGBM pred_contrib + sum (reference)": lightgbm,
            "organo-predict ShapEngine, grouped": ours}


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--rows", type=int, nargs="+", default=[1, 16, 1000, 20000])
    p.add_argument("--repeat", type=int, default=3,
                   help="best of N for workloads up to 2,048 rows (larger ones run once)")
    p.add_argument("--max-seconds", type=float, default=300,
                   help="skip a larger workload where the smaller ones extrapolate above")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    data = cohort()
    loaded = model(args.model)
    features = loaded.builder.transform(data)
    boosters = {o: f.booster for o, f in loaded.model.fits_.items() if f.booster is not None}
    n_trees = sum(b.num_trees() for b in boosters.values())
    print(f"model: {len(boosters)} boosters, {n_trees:,} trees, "
          f"{len(loaded.model.feature_names_)} features; {os.cpu_count()} cores; "
          f"seconds, best of {args.repeat} up to 2,048 rows")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(features))
    rows = {n: features.iloc[order[:n]] for n in args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        for title, engines, shap in [
                ("exact TreeSHAP, 936 features", shap_engines(loaded, boosters), True),
                ("exact TreeSHAP summed per marker", marker_engines(loaded, boosters), False),
                ("raw prediction (calibrated)", predictors(loaded, boosters, Path(tmp)), False)]:
            print(f"\n{title:<40}{'set-up':>8}" + "".join(f"{f'{n:,} rows':>12}" for n in rows)
                  + f"{'max |diff|':>12}")
            reference: dict[int, object] = {}
            for name, setup in engines.items():
                _report(name, setup, rows, reference, args, shap)


def _report(name: str, setup: Callable[[], Callable], rows: dict[int, pd.DataFrame],
            reference: dict, args: argparse.Namespace, shap: bool) -> None:
    try:
        fn, setup_s = timed(setup)
        fn(next(iter(rows.values())).iloc[:8])  # JIT, thread pools, first-call caches
    except Exception as exc:  # noqa: BLE001 - a library that fails is reported, not fatal
        print(f"{name:<40}fails: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}")
        return
    cells, worst, per_row = [], 0.0, 0.0
    for n, x in rows.items():
        if per_row * n > args.max_seconds:
            cells.append(f"{'(skipped)':>12}")
            continue
        runs = [timed(lambda x=x: fn(x)) for _ in range(args.repeat if n <= 2048 else 1)]
        out, seconds = runs[0][0], min(t for _, t in runs)
        per_row = seconds / n  # extrapolated from the largest workload run so far
        cells.append(f"{seconds:>12.4f}" if seconds < 1 else f"{seconds:>12.2f}")
        if n not in reference:
            reference[n] = out
        worst = max(worst, _max_diff(out, reference[n], shap))
    print(f"{name:<40}{setup_s:>8.2f}" + "".join(cells) + f"{worst:>12.1e}")


def _max_diff(out: object, ref: object, shap: bool) -> float:
    if shap:  # feature columns only: the bias of our engine is on the calibrated scale
        return max(float(np.max(np.abs(a[:, :-1] - b[:, :-1]))) for a, b in zip(
            out, ref, strict=True))
    if isinstance(out, list):
        return max(float(np.max(np.abs(a - b))) for a, b in zip(out, ref, strict=True))
    return float(np.max(np.abs(np.asarray(out) - np.asarray(ref))))


if __name__ == "__main__":
    main()
