"""Subgroup performance two ways, side by side: fairlearn's `MetricFrame` with its bootstrap
(`n_boot`, `ci_quantiles`) and the project's `subgroup_performance` (shared Poisson weights,
vectorised AUROC), on the same synthetic predictions of one organ: time, and agreement of
the estimates and of the interval widths.

    pip install -e '.[bench]'
    python benchmarks/bench_subgroups.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from organo_predict import subgroup_performance


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    weights = np.r_[np.full(10, 0.07), np.full(20, 0.3 / 20)]
    code = rng.choice(30, n, p=weights)
    cancer_type = np.array([f"type{i}" for i in range(30)])[code]
    prior = rng.choice([0.1, 0.3, 0.5], 30)[code]
    logit = np.log(prior / (1 - prior)) + rng.normal(0, 0.6, n)
    model = 1 / (1 + np.exp(-logit))
    labels = rng.random(n) < model
    context = pd.DataFrame({"sex": rng.choice(["Female", "Male"], n),
                            "age": rng.choice(["<50", "50-64", "65-74", "75+"], n),
                            "panel": rng.choice(["IMPACT341", "IMPACT410", "IMPACT468"], n),
                            "sample type": rng.choice(["primary", "metastasis"], n)})
    return labels, model, prior, cancer_type, context


def _fairlearn(labels, model, prior, cancer_type, context, n_boot):
    from fairlearn.metrics import MetricFrame

    def wt(y_true, y_pred, cancer_type):  # the project's within-type AUROC, by hand here
        y_true, y_pred, cancer_type = (np.asarray(a) for a in (y_true, y_pred, cancer_type))
        total, weight = 0.0, 0
        for kind in pd.unique(cancer_type):
            rows = cancer_type == kind
            y, p = y_true[rows].astype(bool), y_pred[rows]
            if y.sum() >= 20 and (~y).sum() >= 20:
                total += roc_auc_score(y, p) * rows.sum()
                weight += int(rows.sum())
        return total / weight if weight else float("nan")

    def citl(y_true, y_pred):
        return float(np.mean(y_true) - np.mean(y_pred))

    out = {}
    for variable in context.columns:
        frame = MetricFrame(
            metrics={"auroc": wt, "citl": citl}, y_true=labels, y_pred=model,
            sensitive_features=context[variable].rename(variable),
            sample_params={"auroc": {"cancer_type": cancer_type}}, n_boot=n_boot,
            ci_quantiles=[0.025, 0.975], random_state=0)
        low, high = frame.by_group_ci
        for level in frame.by_group.index:
            out[variable, str(level)] = (frame.by_group.loc[level, "auroc"],
                                         high.loc[level, "auroc"] - low.loc[level, "auroc"],
                                         frame.by_group.loc[level, "citl"],
                                         high.loc[level, "citl"] - low.loc[level, "citl"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--n-boot", type=int, default=100)
    args = parser.parse_args()
    data = _data(args.n)
    start = time.perf_counter()
    ours = subgroup_performance(*data, n_boot=args.n_boot, min_level=1)
    our_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = _fairlearn(*data, n_boot=args.n_boot)
    their_s = time.perf_counter() - start
    print(f"{args.n:,} patients, 4 variables, {len(ours)} levels, {args.n_boot} bootstrap "
          f"replicates, one organ (model only for fairlearn; model and prior for ours)")
    print(f"time: ours {our_s:.2f} s, fairlearn MetricFrame {their_s:.2f} s")
    point, width_ratio = [], []
    for row in ours:
        auc, auc_width, citl, citl_width = theirs[row.variable, row.level]
        point.append(max(abs(row.auroc_within_type - auc), abs(row.calibration_in_the_large
                                                               - citl)))
        width_ratio.append((row.auroc_within_type_ci[1] - row.auroc_within_type_ci[0])
                           / auc_width)
        width_ratio.append((row.calibration_in_the_large_ci[1]
                            - row.calibration_in_the_large_ci[0]) / citl_width)
    print(f"estimates: max |ours - fairlearn| = {max(point):.1e}")
    print(f"95% interval widths, ours / fairlearn: median {np.median(width_ratio):.2f}, "
          f"range {min(width_ratio):.2f}-{max(width_ratio):.2f} (Poisson against multinomial "
          "resampling, different draws)")


if __name__ == "__main__":
    main()
