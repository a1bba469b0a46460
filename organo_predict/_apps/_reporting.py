"""What an experiment writes for people: per-organ and per-cancer-type tables, report.md and
the model card, written atomically into a staged folder (the figures are `_figures`'). Files
only; the numbers come computed from `_experiment`, and MLflow is `_tracking`'s."""

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
from .._evaluate._external import Evaluation
from .._evaluate._metrics import MACRO_PRIOR_WITHIN_TYPE, MACRO_WITHIN_TYPE, OrganMetrics
from ._figures import write_figures
from ._model_card import model_card
from ._publication import decision_lines, interval_lines, subgroup_lines, write_decision_figure

__all__ = ["REPORT_FILES", "atomic_write", "evaluation_metrics", "json_default",
           "mechanism_lines", "organ_rows", "report_markdown", "site_dict",
           "write_evaluation", "write_reports"]

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
             f"{metrics[MACRO_WITHIN_TYPE]:.3f}** "
             f"(subtype prior: {metrics[MACRO_PRIOR_WITHIN_TYPE]:.3f}).", "",
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


def evaluation_metrics(evaluation: Evaluation, model_info: dict[str, object]
                       ) -> dict[str, object]:
    """metrics.json of `evaluate`: the experiment's per-organ metrics, with calibration in
    the large, for a model on a cohort it was not trained on."""
    return {
        "cohort": evaluation.cohort, "model_uri": evaluation.model_uri, "model": model_info,
        "n_samples": evaluation.n_samples,
        MACRO_WITHIN_TYPE: evaluation.macro_within_type(),
        MACRO_PRIOR_WITHIN_TYPE: evaluation.macro_within_type(prior=True),
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
             f"{metrics[MACRO_WITHIN_TYPE]:.3f}** (the model's prior: "
             f"{metrics[MACRO_PRIOR_WITHIN_TYPE]:.3f}).", "",
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
