"""The figures of a report folder: ROC within cancer type and calibration (main organs),
the SHAP beeswarm of the final model's markers, and the mechanism forest plot. Matplotlib
(Agg) only; the numbers come computed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .._base._stats import auroc
from .._explain._explainer import Explainer
from .._explain._shap import marker_data

__all__ = ["BEESWARM_SEED", "write_figures", "write_shap_figures"]

BEESWARM_SEED = 0  # the beeswarm's dot order and jitter: the same figure every run


def write_figures(report_dir: Path, y: pd.DataFrame, oof: np.ndarray, oof_prior: np.ndarray,
                  main: list[str], scope: str = "out-of-fold",
                  cancer_type: np.ndarray | None = None) -> None:
    """roc.png and calibration.png (`scope`: how the predictions were made), main organs.
    With `cancer_type`, roc.png shows each organ's ROC within its three cancer types with
    the most positives (at least 20 positives and 20 negatives), the way skill is judged;
    without, the pooled ROC against the prior's."""
    import matplotlib

    matplotlib.use("Agg")
    _write_roc(report_dir, y, oof, oof_prior, main, scope, cancer_type)
    _write_calibration(report_dir, y, oof, main, scope)


def _write_roc(report_dir: Path, y: pd.DataFrame, oof: np.ndarray, oof_prior: np.ndarray,
               main: list[str], scope: str, cancer_type: np.ndarray | None) -> None:
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    organs = list(y.columns)
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.5))
    for ax, organ in zip(axes.ravel(), main, strict=False):
        j = organs.index(organ)
        known = y[organ].notna().to_numpy()
        truth = y[organ].to_numpy() == 1
        if cancer_type is None:
            curves = [(known, oof[:, j], "model, pooled"),
                      (known, oof_prior[:, j], "subtype prior, pooled")]
        else:
            curves = []
            for kind in _types_with_most_positives(truth[known], cancer_type[known], 3):
                rows = known & (cancer_type == kind)
                auc = float(auroc(truth[rows], oof[rows, j])[0])
                curves.append((rows, oof[:, j], f"{kind} (AUROC {auc:.2f})"))
        for rows, score, name in curves:
            fpr, tpr, _ = roc_curve(truth[rows], score[rows])
            ax.plot(fpr, tpr, label=name)
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set_title(organ)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.legend(loc="lower right", fontsize=7)
    for ax in axes.ravel()[len(main):]:
        ax.set_visible(False)
    fig.suptitle(f"ROC, {scope}: " + (
        "model within each organ's three cancer types with the most positives (pooled "
        "AUROC is mostly cancer type)" if cancer_type is not None
        else "pooled across cancer types"))
    fig.tight_layout(rect=(0, 0, 1, 0.96))  # the title above the panels, not over them
    fig.savefig(report_dir / "roc.png", dpi=80)
    plt.close(fig)


def _write_calibration(report_dir: Path, y: pd.DataFrame, oof: np.ndarray, main: list[str],
                       scope: str) -> None:
    import matplotlib.pyplot as plt

    organs = list(y.columns)
    fig, axes = plt.subplots(2, 4, figsize=(16, 8))
    for ax, organ in zip(axes.ravel(), main, strict=False):
        j = organs.index(organ)
        truth = y[organ].to_numpy() == 1
        edges = np.quantile(oof[:, j], np.linspace(0, 1, 11))
        idx = np.clip(np.searchsorted(edges, oof[:, j], side="right") - 1, 0, 9)
        pred = [oof[idx == b, j].mean() for b in range(10) if (idx == b).any()]
        obs = [truth[idx == b].mean() for b in range(10) if (idx == b).any()]
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.plot(pred, obs, "o-")
        ax.set_title(organ)
        ax.set_xlabel("predicted")
        ax.set_ylabel("observed")
    fig.suptitle(f"Calibration, {scope} deciles")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(report_dir / "calibration.png", dpi=80)
    plt.close(fig)


def _types_with_most_positives(truth: np.ndarray, cancer_type: np.ndarray,
                               k: int, min_each: int = 20) -> list[str]:
    """The k cancer types with the most positives among those with `min_each` of each."""
    table = pd.DataFrame({"type": cancer_type, "y": truth}).groupby("type")["y"].agg(
        ["sum", "size"])
    table = table[(table["sum"] >= min_each) & (table["size"] - table["sum"] >= min_each)]
    return list(table.sort_values("sum", ascending=False, kind="stable").index[:k])


def write_shap_figures(report_dir: Path, explainer: Explainer, x: pd.DataFrame,
                       marker_shap: dict[str, np.ndarray], main: list[str],
                       mechanisms: list[dict]) -> None:
    """Beeswarm of marker SHAP per main organ (`x`: the patients drawn for it), and the
    forest plot of mechanism replication."""
    _write_beeswarm(report_dir, explainer, x, marker_shap, main)
    _write_mechanism_forest(report_dir, mechanisms)


@contextlib.contextmanager
def _seeded_global_random(seed: int) -> Iterator[None]:
    """shap's beeswarm shuffles and jitters its dots with NumPy's global generator: the
    same run drew a different figure each time. Seeded here, and the caller's state put
    back afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _write_beeswarm(report_dir: Path, explainer: Explainer, x: pd.DataFrame,
                    marker_shap: dict[str, np.ndarray], main: list[str]) -> None:
    """shap_beeswarm.png: `shap.plots.beeswarm` of each main organ's 12 strongest
    tumor-intrinsic markers, over the patients of `x` (drawn once for every organ)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    intrinsic = np.flatnonzero(~explainer.layout_.context)
    names = [explainer.markers[k] for k in intrinsic]
    as_built = x[explainer.model.feature_names_].to_numpy(np.float32)  # NaN: not profiled
    data = marker_data(as_built, explainer.layout_.groups, len(explainer.markers))[:, intrinsic]
    shown = [o for o in main if o in marker_shap]
    fig, axes = plt.subplots(2, 4, figsize=(24, 12))
    for ax, organ in zip(axes.ravel(), shown, strict=False):
        values = marker_shap[organ][:, intrinsic]
        with _seeded_global_random(BEESWARM_SEED):
            shap.plots.beeswarm(shap.Explanation(values=values, data=data,
                                                 feature_names=names),
                                max_display=12, ax=ax, show=False, plot_size=None,
                                color_bar=False, s=6, group_remaining_features=False)
        ax.set_title(organ)
        ax.set_xlabel("SHAP (log-odds)")
    for ax in axes.ravel()[len(shown):]:
        ax.set_visible(False)
    fig.suptitle("Marker SHAP, final model (red: altered / high, blue: not altered / low)")
    fig.tight_layout(rect=(0, 0, 1, 0.96))  # the title above the panels, not over them
    fig.savefig(report_dir / "shap_beeswarm.png", dpi=70)
    plt.close(fig)


def _write_mechanism_forest(report_dir: Path, mechanisms: list[dict]) -> None:
    """mechanisms_forest.png: per testable entry, the cohort's rate difference and the
    model's predicted one (left), and the marker's own attribution (right), with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [e for e in mechanisms if e["cohort"] is not None]
    if not shown:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.34 * len(shown) + 1.8),
                                      sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    ys = np.arange(len(shown))[::-1]
    for y, e in zip(ys, shown, strict=True):
        c = e["cohort"]
        left.errorbar(c["rate_diff"], y + 0.15, xerr=[[c["rate_diff"] - c["rate_diff_ci"][0]],
                      [c["rate_diff_ci"][1] - c["rate_diff"]]], fmt="o", color="k", ms=4)
        for ax, block, color in ((left, e["model_marginal"], "tab:blue"),
                                 (right, e["attribution"], "tab:red")):
            if block is not None:
                ax.errorbar(block["diff"], y - 0.15 * (ax is left), xerr=[
                    [block["diff"] - block["ci"][0]], [block["ci"][1] - block["diff"]]],
                    fmt="s", color=color, ms=4)
    labels = [f"{e['id']} ({e['direction']}): {e['verdict']['cohort']}" for e in shown]
    left.set_yticks(ys, labels, fontsize=8)
    for ax in (left, right):
        ax.axvline(0, color="grey", lw=0.8)
    left.set_xlabel("rate difference, carriers - non-carriers "
                    "(black: cohort, blue: model's predictions)")
    right.set_xlabel("the marker's own SHAP contrast (log-odds)")
    fig.suptitle("Documented mechanisms: cohort against model, 95% intervals")
    fig.tight_layout()
    fig.savefig(report_dir / "mechanisms_forest.png", dpi=80)
    plt.close(fig)
