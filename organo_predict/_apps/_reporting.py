"""What an experiment writes for people: per-organ and per-cancer-type tables, report.md and
the figures (ROC, calibration, SHAP beeswarm, mechanism forest plot). Files only; the numbers
come computed from `_experiment`, and MLflow is `_tracking`'s."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._base._formatting import interval, shown, signed_interval
from .._base._stats import auroc
from .._evaluate._external import Evaluation
from .._evaluate._metrics import OrganMetrics
from .._explain._explainer import Explainer
from .._explain._shap import marker_data
from ._model_card import model_card
from ._publication import decision_lines, interval_lines, subgroup_lines, write_decision_figure

__all__ = ["REPORT_FILES", "atomic_write", "evaluation_metrics", "json_default",
           "mechanism_lines", "organ_rows", "report_markdown", "site_dict",
           "write_evaluation", "write_figures", "write_reports", "write_shap_figures"]

# the files of a report folder logged to the MLflow run, when present
REPORT_FILES = ("per_organ.csv", "per_cancer_type.csv", "report.md", "model_card.md", "roc.png",
                "calibration.png", "shap_beeswarm.png", "mechanisms_forest.png")


def json_default(value: object) -> object:
    """json.dumps' `default`: NumPy scalars and tuples as plain JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to a hidden file beside `path`, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def check_report_dir(path: Path) -> None:
    """Refuse, before any work, a report folder that cannot be one (an existing file, or a
    file in its way)."""
    from .._base._errors import ConfigError

    path = Path(path)
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                raise ConfigError(f"report folder {path}: {place} exists and is not a folder")
            if not os.access(place, os.W_OK):
                raise ConfigError(f"report folder {path}: {place} is not writable")
            return


@contextlib.contextmanager
def staged_folder(path: Path) -> Iterator[Path]:
    """A fresh hidden folder beside `path` to write a report into, renamed into place
    (replacing the earlier report whole) when the block ends, removed when it fails: a
    reader never sees one run's files beside another's, and runs that end together each
    commit a complete folder (the last one stays)."""
    path = Path(path)
    check_report_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp's folder is private; a report is not
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    lock = path.parent / f".{path.name}.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # one commit at a time: move away, then move in
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(staging, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def site_dict(m: OrganMetrics) -> dict[str, object]:
    """One organ's metrics as JSON-ready values."""
    d = m.to_dict()
    d["auroc_ci"] = list(m.auroc_ci)
    d["gain_over_prior_ci"] = list(m.gain_over_prior_ci)
    d["gain_within_type_ci"] = list(m.gain_within_type_ci)
    return d


def organ_rows(site_metrics: dict[str, OrganMetrics]) -> list[dict[str, object]]:
    """One flat row per organ: the per-organ table and report.md's."""
    rows = []
    for organ, m in site_metrics.items():
        rows.append({"organ": organ, "prevalence": m.prevalence, "auroc": m.auroc,
                     "auroc_ci_low": m.auroc_ci[0], "auroc_ci_high": m.auroc_ci[1],
                     "auroc_within_type": m.auroc_within_type,
                     "prior_auroc_within_type": m.prior_auroc_within_type,
                     "gain_within_type": m.gain_within_type,
                     "gain_within_type_ci_low": m.gain_within_type_ci[0],
                     "gain_within_type_ci_high": m.gain_within_type_ci[1],
                     "auroc_primary": m.auroc_primary, "prior_auroc": m.prior_auroc,
                     "clinical_auroc": m.clinical_auroc, "auprc": m.auprc, "brier": m.brier,
                     "ece": m.ece, "calibration_slope": m.calibration_slope,
                     "status": m.status})
    return rows


def report_markdown(metrics: dict, rows: list[dict[str, object]]) -> str:
    """report.md: the headline, the per-organ table, mechanism replication, the leakage
    audit."""
    lines = [f"# organo-predict experiment `{metrics['experiment']}`", "",
             f"Cohort `{metrics['cohort']}`, population `{metrics['population']}`: "
             f"{metrics['n_patients']:,} patients, {metrics['n_features']} features. "
             f"{metrics.get('n_splits', 5)}-fold cross-validation grouped by patient, "
             "stratified by cancer type; AUROC within cancer type is the sample-weighted mean "
             "over cancer types with at least 20 positives and 20 negatives.", "",
             f"**Macro within-type AUROC, main {len(metrics.get('main_organs', []))} organs: "
             f"{metrics['macro_within_type_auroc_main8']:.3f}** "
             f"(subtype prior: {metrics['macro_prior_within_type_auroc_main8']:.3f}).", "",
             "| organ | prev. | AUROC [95% CI] | within type | prior within | gain within "
             "[95% CI] | primary only | clinical | AUPRC | Brier | ECE | slope |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"{_skill_cells(r)}{r['clinical_auroc']:.3f} | {r['auprc']:.3f} | "
                     f"{r['brier']:.3f} | {r['ece']:.3f} | {r['calibration_slope']:.2f} |")
    lines += mechanism_lines(metrics["mechanisms"], metrics["mechanism_replication"])
    if "fidelity" in metrics:
        lines += fidelity_lines(metrics["fidelity"], metrics.get("main_organs", []))
    lines += publication_lines(metrics)
    refused = metrics["leakage"]["refused"]
    lines += ["", f"Leakage audit: {len({f['feature'] for f in refused})} feature(s) refused "
              "and dropped.", ""]
    for f in refused[:20]:
        lines.append(f"- `{f['feature']}` -> {f['label']}: {f['detail']}")
    return "\n".join(lines) + "\n"


def publication_lines(metrics: dict) -> list[str]:
    """The intervals' check, decision curves and subgroups, where metrics has them."""
    main = metrics.get("main_organs", [])
    return (interval_lines(metrics.get("intervals", {}))
            + decision_lines(metrics.get("decision_curves", {}))
            + subgroup_lines(metrics.get("subgroups", {}), main))


def fidelity_sentence(fidelity: dict) -> str:
    """The pooled fidelity ratio in one sentence (or why there is none)."""
    if not fidelity["n_pooled"]:
        return "No entry the cohort can test replicates in it, so there is no pooled ratio."
    low, high = fidelity["pooled_ratio_ci"]
    return (f"Over the {fidelity['n_pooled']} entries the cohort replicates, the model's "
            "predicted contrasts (carriers minus non-carriers, stratified as in the "
            f"replication) are **{fidelity['pooled_ratio']:.2f} [{low:.2f}, {high:.2f}]** of "
            "the observed ones (1: full size; below 1: shrunk).")


def fidelity_lines(fidelity: dict, main: Sequence[str]) -> list[str]:
    """report.md's fidelity section: documented contrasts observed against predicted, the
    pooled ratio, and each main organ's within-type residual slope."""
    slopes = fidelity["residual_slope"]
    lines = ["", "## Fidelity: does the model learn the biology it explains?", "",
             f"Predictions {fidelity['predictions']}. {fidelity_sentence(fidelity)} "
             "Within-type slope of the genomic residual "
             "(logit p - logit prior; 1 ideal, above 1: too timid): "
             + ", ".join(f"{o} {slopes[o]:.2f}" for o in main if o in slopes) + ".", "",
             "| entry | replicated | observed | predicted | ratio [95% CI] |",
             "|---|---|---|---|---|"]
    for e in fidelity["entries"]:
        lo, hi = e["ratio_ci"]
        lines.append(f"| {e['id']} | {'yes' if e['replicated'] else 'no'} | "
                     f"{e['observed']:+.3f} | {e['predicted']:+.3f} | "
                     f"{e['ratio']:.2f} [{lo:.2f}, {hi:.2f}] |")
    return lines


def write_reports(report_dir: Path, metrics: dict, site_metrics: dict[str, OrganMetrics],
                  y: pd.DataFrame, oof: np.ndarray, oof_prior: np.ndarray,
                  main: list[str], cancer_type: np.ndarray | None = None) -> None:
    """per_organ.csv, per_cancer_type.csv, roc.png (within type with `cancer_type`),
    calibration.png, report.md and model_card.md."""
    rows = organ_rows(site_metrics)
    pd.DataFrame(rows).to_csv(report_dir / "per_organ.csv", index=False)
    per_type = pd.DataFrame([{"organ": o, "cancer_type": t, **v}
                             for o, m in site_metrics.items() for t, v in m.per_type.items()])
    per_type.to_csv(report_dir / "per_cancer_type.csv", index=False)
    write_figures(report_dir, y, oof, oof_prior, main, cancer_type=cancer_type)
    write_decision_figure(report_dir, metrics.get("decision_curves", {}), main)
    atomic_write(report_dir / "report.md", report_markdown(metrics, rows))
    atomic_write(report_dir / "model_card.md", model_card(metrics))


def write_figures(report_dir: Path, y: pd.DataFrame, oof: np.ndarray, oof_prior: np.ndarray,
                  main: list[str], scope: str = "out-of-fold",
                  cancer_type: np.ndarray | None = None) -> None:
    """roc.png and calibration.png (`scope`: how the predictions were made), main organs.
    With `cancer_type`, roc.png shows each organ's ROC within its three cancer types with
    the most positives (at least 20 positives and 20 negatives), the way skill is judged;
    without, the pooled ROC against the prior's."""
    import matplotlib

    matplotlib.use("Agg")
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


def _skill_cells(r: dict[str, object]) -> str:
    """The leading cells of a per-organ row: organ, prevalence, AUROC [CI], within type,
    the prior within type, the gain [CI] and primary-only AUROC."""
    return (f"| {r['organ']} | {shown(r['prevalence'])} | "
            f"{interval(r['auroc'], [r['auroc_ci_low'], r['auroc_ci_high']])} | "
            f"{shown(r['auroc_within_type'])} | {shown(r['prior_auroc_within_type'])} | "
            f"{signed_interval(r['gain_within_type'], [r['gain_within_type_ci_low'], r['gain_within_type_ci_high']])}"
            f" | {shown(r['auroc_primary'])} | ")


def mechanism_lines(entries: list[dict], summary: dict[str, object]) -> list[str]:
    """report.md's mechanism replication section: one row per knowledge-base entry."""
    lines = ["", "## Mechanism replication", "",
             f"{summary['testable']} of {summary['entries']} knowledge-base entries testable; "
             f"the cohort replicates {summary['replicated']} (opposite: "
             f"{summary['opposite']}); of those the model reproduces "
             f"{summary['reproduced_by_model']} and attributes {summary['attributed_to_marker']} "
             "to the marker itself. Cohort: Mantel-Haenszel over cancer type x subtype, 95% "
             f"intervals, BH q. Model intervals: {summary['model_intervals']}. Rate "
             "differences are carriers minus non-carriers (observed, then predicted); the "
             "attribution is the marker's own SHAP contrast in log-odds.", "",
             "| entry | doc. | carriers | cohort OR [95% CI] | q | cohort Δrate | model Δrate | "
             "attribution | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for e in entries:
        c, m, a = e["cohort"], e["model_marginal"], e["attribution"]
        v = e["verdict"]
        verdict = (f"{v['cohort']}: {e['reason']}" if c is None else
                   f"{v['cohort']}; model {v['model']}; {v['attribution']}")
        lines.append(
            f"| {e['id']} | {e['direction']} | {e['n_carriers']} | "
            + (f"{c['or']:.2f} [{c['or_ci'][0]:.2f}, {c['or_ci'][1]:.2f}] | {c['q']:.2g} | "
               f"{signed_interval(c['rate_diff'], c['rate_diff_ci'])} | " if c else "| | | ")
            + (f"{signed_interval(m['diff'], m['ci'])} | "
               f"{signed_interval(a['diff'], a['ci'])} | " if m else "| | ")
            + f"{verdict} |")
    return lines


def write_shap_figures(report_dir: Path, explainer: Explainer, x: pd.DataFrame,
                       marker_shap: dict[str, np.ndarray], main: list[str],
                       mechanisms: list[dict]) -> None:
    """Beeswarm of marker SHAP per main organ (`x`: the patients drawn for it), and the
    forest plot of mechanism replication."""
    _write_beeswarm(report_dir, explainer, x, marker_shap, main)
    _write_mechanism_forest(report_dir, mechanisms)


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


def evaluation_metrics(evaluation: Evaluation, model_info: dict[str, object]
                       ) -> dict[str, object]:
    """metrics.json of `evaluate`: the experiment's per-organ metrics, with calibration in
    the large, for a model on a cohort it was not trained on."""
    return {
        "cohort": evaluation.cohort, "model_uri": evaluation.model_uri, "model": model_info,
        "n_samples": evaluation.n_samples,
        "macro_within_type_auroc_main8": evaluation.macro_within_type(),
        "macro_prior_within_type_auroc_main8": evaluation.macro_within_type(prior=True),
        "main_organs": evaluation.main_organs,
        "sites": {o: {**site_dict(m),
                      "calibration_in_the_large": evaluation.calibration_in_the_large[o]}
                  for o, m in evaluation.sites.items()},
        "not_evaluated": evaluation.not_evaluated,
        **({"fidelity": evaluation.fidelity.to_dict()} if evaluation.fidelity else {}),
        **evaluation.clinical,
    }


def write_evaluation(report_dir: Path, evaluation: Evaluation, metrics: dict) -> None:
    """metrics.json, report.md, roc.png and calibration.png of `evaluate`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    shown = evaluation.main_organs or list(evaluation.sites)[:8]
    organs = list(evaluation.y.columns)
    write_figures(report_dir, evaluation.y, evaluation.proba[organs].to_numpy(),
                  evaluation.prior[organs].to_numpy(), shown, scope="external cohort",
                  cancer_type=evaluation.cancer_type)
    write_decision_figure(report_dir, metrics.get("decision_curves", {}), shown,
                          scope="external cohort")
    rows = organ_rows(evaluation.sites)
    lines = [f"# organo-predict evaluation on `{metrics['cohort']}`", "",
             f"Model `{metrics['model_uri']}` on {metrics['n_samples']:,} samples it was not "
             "trained on. AUROC within cancer type is the sample-weighted mean over cancer "
             "types with at least 20 positives and 20 negatives; the prior is the model's own "
             "cancer-type/subtype prior; calibration in the large is the observed rate minus "
             "the mean predicted probability.", "",
             f"**Macro within-type AUROC, main organs: "
             f"{metrics['macro_within_type_auroc_main8']:.3f}** (the model's prior: "
             f"{metrics['macro_prior_within_type_auroc_main8']:.3f}).", "",
             "| organ | prev. | AUROC [95% CI] | within type | prior within | gain within "
             "[95% CI] | primary only | ECE | slope | calibration in the large |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"{_skill_cells(r)}{r['ece']:.3f} | {r['calibration_slope']:.2f} | "
                     f"{evaluation.calibration_in_the_large[r['organ']]:+.3f} |")
    for organ, why in metrics["not_evaluated"].items():
        lines.append(f"\n- {organ}: not evaluated, {why}")
    if "fidelity" in metrics and metrics["fidelity"]["entries"]:
        lines += fidelity_lines(metrics["fidelity"], shown)
    lines += publication_lines({**metrics, "main_organs": shown})
    atomic_write(report_dir / "report.md", "\n".join(lines) + "\n")
    atomic_write(report_dir / "metrics.json", json.dumps(metrics, indent=1,
                                                         default=json_default))
