"""Run a configured experiment: cohort -> features -> audit -> CV -> final model -> MLflow.

This is the IO edge of training: it reads the cohort, writes reports and talks to MLflow.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ._cohort import Cohort, load_source
from ._config import ExperimentConfig
from ._errors import UnknownGeneWarning
from ._evaluation import OrganMetrics, cv_splits, evaluate_organ
from ._explain import Concordance, Explainer, concordance
from ._features import CONTEXT_FEATURES, FeatureBuilder, categories_to_strings
from ._leakage import AuditReport, audit_leakage
from ._models import OrganotropismModel, labels_from_samples
from ._recipes import load_recipes

__all__ = ["ExperimentResult", "run_experiment"]

CLINICAL_FEATURES = list(CONTEXT_FEATURES)
# The clinical baseline has five features; early stopping finds its optimum at a higher rate
# (the same skill as at the model's rate, in half the time).
CLINICAL_LEARNING_RATE = 0.1

Log = Callable[[str], None]


@dataclass
class ExperimentResult:
    metrics: dict[str, object]
    report_dir: Path
    run_id: str | None
    model_uri: str | None
    model_version: str | None
    champion: bool


def load_cohort(source: str, log: Log = print, unknown_genes: bool = False) -> Cohort:
    """The configured cohort. Its reader's warnings (a value read as missing, with file, line
    and column) go to `log` as one line each; gene symbols off every panel are expected in
    real cohorts and are said only with `unknown_genes` (validating a study)."""
    cohort, said = load_source(source)
    for warning in said:
        if unknown_genes or not isinstance(warning, UnknownGeneWarning):
            log(f"warning: {warning}")
    return cohort


def population_rows(cohort: Cohort, labels: pd.DataFrame, population: str) -> np.ndarray:
    """Rows modelled: known flags for every organ, and metastatic disease by default."""
    known = labels.notna().all(axis=1).to_numpy()
    if population == "all_labelled":
        return known
    if "METASTATIC_PATIENT" in cohort.samples.columns:
        metastatic = (cohort.samples["METASTATIC_PATIENT"].astype("string").str.lower()
                      == "yes").to_numpy()
    else:  # without the column: a patient with any organ flag set is metastatic
        metastatic = (labels.fillna(0).sum(axis=1) > 0).to_numpy()
    return known & metastatic


def leakage_policy(config: ExperimentConfig | None = None) -> str:
    """The leakage rules a run was trained under: leakage.toml's version and how unprofiled
    alteration flags were read (None: this release's, nothing overridden). Runs under
    different policies are not compared."""
    rules = load_recipes().leakage
    read_as = rules.unprofiled_read_as if config is None else config.unprofiled
    return f"{rules.version}/unprofiled={read_as}"


def shipped_leakage_policy() -> str:
    """The policy of this release's leakage.toml with nothing overridden."""
    return leakage_policy(None)


def audit_strata(cohort: Cohort, features: pd.DataFrame) -> np.ndarray:
    """Cancer type x panel: missingness explained by panel design is not leakage."""
    panel = cohort.panel_matrix.get("mutations")
    panel_codes = (pd.factorize(panel.reindex(features.index))[0] if panel is not None
                   else np.zeros(len(features), dtype=int))
    return np.nan_to_num(features["cancer_type"].to_numpy(), nan=-1) * 1000 + panel_codes


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, cwd=Path(__file__).parent, check=False
                              ).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("organo-predict", "lightgbm", "scikit-learn", "pandas", "numpy", "mlflow",
                "shap"):
        try:
            out[pkg] = importlib_metadata.version(pkg)
        except importlib_metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


def run_experiment(config: ExperimentConfig, report_dir: str | Path,
                   log: Log = print, use_mlflow: bool = True) -> ExperimentResult:
    """Run `config`; write metrics.json, report.md and figures to `report_dir`."""
    t0 = time.perf_counter()
    report_dir = Path(report_dir)
    cohort = load_cohort(config.source, log)
    log(f"cohort {cohort.study_id}: {len(cohort.samples):,} samples "
        f"({time.perf_counter() - t0:.1f} s)")
    builder = FeatureBuilder(min_carriers=config.min_carriers,
                             extra_clinical=config.extra_clinical)
    features = builder.fit_transform(cohort)
    labels = labels_from_samples(cohort.samples, config.organs)
    organs = [o for o in config.organs if o in labels.columns]
    rows = population_rows(cohort, labels[organs], config.population)
    x, y = features[rows], labels.loc[rows, organs]
    log(f"population {config.population}: {int(rows.sum()):,} patients, {x.shape[1]} features "
        f"({time.perf_counter() - t0:.1f} s)")

    audit = audit_leakage(x, y, categorical=builder.categorical_features_,
                          strata=audit_strata(cohort, features)[rows], allow=config.allow)
    refused = audit.refused_features
    if refused and config.on_refusal == "error":
        audit.raise_if_refused()
    used = [c for c in x.columns if c not in set(refused)]
    log(f"leakage audit: {len(refused)} feature(s) refused and dropped, {len(used)} used "
        f"({time.perf_counter() - t0:.1f} s)")

    groups = cohort.samples.loc[rows, "PATIENT_ID"].to_numpy()
    cancer_type = cohort.samples.loc[rows].get(
        "CANCER_TYPE", pd.Series("unknown", index=x.index)).astype(str).to_numpy()
    splits = cv_splits(cancer_type, groups, config.n_splits, config.seed)
    # what the trees may read from an unprofiled gene: nothing, unless the config says otherwise
    used_set = set(used)
    absent = ([f for f in builder.alteration_features_ if f in used_set]
              if config.unprofiled == "absent" else [])
    if absent:
        log(f"{len(absent)} alteration flags read 'not profiled' as 'not carried' "
            "(leakage.toml [unprofiled])")
    # a whole-tumor summary a cohort or client did not measure: its cancer type's median
    typical = [s.name for s in load_recipes().summaries
               if s.when_missing == "cancer_type_median" and s.name in used_set]
    model_params = {**config.model, "random_state": config.seed}
    oof = np.full(y.shape, np.nan)
    oof_prior = np.full(y.shape, np.nan)
    oof_clin = np.full(y.shape, np.nan)
    for k, (train, test) in enumerate(splits):
        model = OrganotropismModel(organs=organs, features=used, unprofiled_as_absent=absent,
                                   missing_as_type_median=typical,
                                   **model_params).fit(x.iloc[train], y.iloc[train])
        oof[test] = model.predict_proba(x.iloc[test]).to_numpy()
        oof_prior[test] = model.prior_proba(x.iloc[test]).to_numpy()
        clinical = OrganotropismModel(organs=organs, features=CLINICAL_FEATURES, use_prior=False,
                                      **{**model_params,
                                         "learning_rate": CLINICAL_LEARNING_RATE}).fit(
            x.iloc[train], y.iloc[train])
        oof_clin[test] = clinical.predict_proba(x.iloc[test]).to_numpy()
        log(f"fold {k + 1}/{len(splits)} done ({time.perf_counter() - t0:.1f} s)")
    primary = (cohort.samples.loc[rows].get("SAMPLE_TYPE", pd.Series("", index=x.index))
               .astype(str).str.lower() == "primary").to_numpy()
    final = OrganotropismModel(organs=organs, features=used, unprofiled_as_absent=absent,
                               missing_as_type_median=typical, **model_params).fit(x, y)
    log(f"final model fitted ({time.perf_counter() - t0:.1f} s)")

    def evaluate(j: int) -> OrganMetrics:
        organ = organs[j]
        return evaluate_organ(
            organ, y[organ].to_numpy() == 1, oof[:, j], oof_prior[:, j], oof_clin[:, j],
            cancer_type, primary, n_boot=config.n_bootstrap, seed=config.seed,
            status=final.fits_[organ].status)

    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy releases the GIL
        site_metrics = dict(zip(organs, pool.map(evaluate, range(len(organs))), strict=True))
    explainer = Explainer(final, builder)
    x_final = x[used]
    shap_organs = [o for o in organs if o in set(config.main_organs)
                   | {m.organ for m in explainer.knowledge.mechanisms}]
    marker_shap = {o: explainer.marker_contributions(x_final, o)[0] for o in shap_organs}
    agreement = concordance(explainer, x_final, marker_shap)
    log(f"concordance with {len(agreement.entries)} documented mechanisms: "
        f"{len(agreement.ids('agree'))} agree, {len(agreement.ids('disagree'))} disagree, "
        f"{len(agreement.ids('neutral'))} neutral ({time.perf_counter() - t0:.1f} s)")
    main = [o for o in config.main_organs if o in site_metrics]
    macro = float(np.mean([site_metrics[o].auroc_within_type for o in main]))
    macro_prior = float(np.mean([site_metrics[o].prior_auroc_within_type for o in main]))
    metrics: dict[str, object] = {
        "experiment": config.name,
        "population": config.population,
        "cohort": cohort.study_id,
        "data_fingerprint": cohort.fingerprint,
        "n_patients": int(len(np.unique(groups))),
        "n_samples": int(rows.sum()),
        "n_features": len(used),
        "macro_within_type_auroc_main8": macro,
        "macro_prior_within_type_auroc_main8": macro_prior,
        "main_organs": main,
        "not_trained": {o: m.status for o, m in site_metrics.items() if m.status != "trained"},
        "leakage": {**audit.to_dict(), "policy": leakage_policy(config),
                    "unprofiled": {"read_as": config.unprofiled, "n_features": len(absent)}},
        "sites": {o: _site_dict(m) for o, m in site_metrics.items()},
        "concordance": agreement.to_dict(),
        "knowledge_base_version": explainer.knowledge.version,
        "versions": _versions(),
        "git_commit": _git_commit(),
        "elapsed_s": round(time.perf_counter() - t0, 1),
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    _write_reports(report_dir, metrics, site_metrics, y, oof, oof_prior, main)
    _shap_figures(report_dir, explainer, x_final, marker_shap, main, agreement)
    log(f"evaluation done ({time.perf_counter() - t0:.1f} s)")
    run_id = model_uri = version = None
    champion = False
    if use_mlflow:
        run_id, model_uri, version, champion = _log_mlflow(
            config, metrics, report_dir, builder, final, x[used], site_metrics, audit, cohort,
            log)
        metrics["mlflow"] = {"run_id": run_id, "model_uri": model_uri, "version": version,
                             "champion": champion}
    metrics["elapsed_s"] = round(time.perf_counter() - t0, 1)
    _atomic_write(report_dir / "metrics.json", json.dumps(metrics, indent=1, default=_json))
    return ExperimentResult(metrics, report_dir, run_id, model_uri, version, champion)


def _json(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _site_dict(m: OrganMetrics) -> dict[str, object]:
    d = m.to_dict()
    d["auroc_ci"] = list(m.auroc_ci)
    d["gain_over_prior_ci"] = list(m.gain_over_prior_ci)
    d["gain_within_type_ci"] = list(m.gain_within_type_ci)
    return d


def _write_reports(report_dir: Path, metrics: dict, site_metrics: dict[str, OrganMetrics],
                   y: pd.DataFrame, oof: np.ndarray, oof_prior: np.ndarray,
                   main: list[str]) -> None:
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
    table = pd.DataFrame(rows)
    table.to_csv(report_dir / "per_organ.csv", index=False)
    per_type = pd.DataFrame([{"organ": o, "cancer_type": t, **v}
                             for o, m in site_metrics.items() for t, v in m.per_type.items()])
    per_type.to_csv(report_dir / "per_cancer_type.csv", index=False)
    _figures(report_dir, y, oof, oof_prior, main)
    lines = [f"# organo-predict experiment `{metrics['experiment']}`", "",
             f"Cohort `{metrics['cohort']}`, population `{metrics['population']}`: "
             f"{metrics['n_patients']:,} patients, {metrics['n_features']} features. "
             "Five-fold cross-validation grouped by patient, stratified by cancer type; "
             "AUROC within cancer type is the sample-weighted mean over cancer types with at "
             "least 20 positives and 20 negatives.", "",
             f"**Macro within-type AUROC, main 8 organs: "
             f"{metrics['macro_within_type_auroc_main8']:.3f}** "
             f"(subtype prior: {metrics['macro_prior_within_type_auroc_main8']:.3f}).", "",
             "| organ | prev. | AUROC [95% CI] | within type | prior within | gain within "
             "[95% CI] | primary only | clinical | AUPRC | Brier | ECE | slope |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['organ']} | {r['prevalence']:.3f} | {r['auroc']:.3f} "
            f"[{r['auroc_ci_low']:.3f}, {r['auroc_ci_high']:.3f}] | "
            f"{r['auroc_within_type']:.3f} | {r['prior_auroc_within_type']:.3f} | "
            f"{r['gain_within_type']:+.3f} [{r['gain_within_type_ci_low']:+.3f}, "
            f"{r['gain_within_type_ci_high']:+.3f}] | {r['auroc_primary']:.3f} | "
            f"{r['clinical_auroc']:.3f} | {r['auprc']:.3f} | {r['brier']:.3f} | "
            f"{r['ece']:.3f} | {r['calibration_slope']:.2f} |")
    conc = metrics["concordance"]
    lines += ["", "## Concordance with documented mechanisms", "",
              f"{len(conc['tested'])} of {len(conc['entries'])} knowledge-base entries testable "
              f"here; sign agreement {conc['agreement']:.0%} "
              f"({len(conc['agree'])} agree, {len(conc['disagree'])} disagree, "
              f"{len(conc['neutral'])} neutral: |carriers - non-carriers| < "
              f"{conc['min_effect']} log-odds). In-sample SHAP of the final model, carriers vs "
              "non-carriers within cancer type.", "",
              "| entry | organ | documented | carriers - non-carriers (log-odds) | verdict |",
              "|---|---|---|---|---|"]
    for e in conc["entries"]:
        diff = e["difference"]
        lines.append(f"| {e['id']} | {e['organ']} | {e['direction']} | "
                     f"{'' if diff != diff else f'{diff:+.3f}'} | {e['verdict']}: "
                     f"{e['reason']} |")
    refused = metrics["leakage"]["refused"]
    lines += ["", f"Leakage audit: {len({f['feature'] for f in refused})} feature(s) refused "
              "and dropped.", ""]
    for f in refused[:20]:
        lines.append(f"- `{f['feature']}` -> {f['label']}: {f['detail']}")
    _atomic_write(report_dir / "report.md", "\n".join(lines) + "\n")


def _figures(report_dir: Path, y: pd.DataFrame, oof: np.ndarray, oof_prior: np.ndarray,
             main: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    organs = list(y.columns)
    fig, axes = plt.subplots(2, 4, figsize=(16, 8))
    for ax, organ in zip(axes.ravel(), main, strict=False):
        j = organs.index(organ)
        truth = y[organ].to_numpy() == 1
        for score, name in ((oof[:, j], "model"), (oof_prior[:, j], "subtype prior")):
            fpr, tpr, _ = roc_curve(truth, score)
            ax.plot(fpr, tpr, label=name)
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set_title(organ)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("ROC, out-of-fold (pooled across cancer types)")
    fig.tight_layout()
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
    fig.suptitle("Calibration, out-of-fold deciles")
    fig.tight_layout()
    fig.savefig(report_dir / "calibration.png", dpi=80)
    plt.close(fig)


def _shap_figures(report_dir: Path, explainer: Explainer, x: pd.DataFrame,
                  marker_shap: dict[str, np.ndarray], main: list[str],
                  agreement: Concordance) -> None:
    """Beeswarm of marker SHAP per main organ, and the marker x organ concordance heatmap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = explainer.markers
    intrinsic = ~explainer.layout_.context
    altered = np.zeros((len(x), len(markers)))
    values = x.to_numpy(np.float32)
    column = {c: i for i, c in enumerate(x.columns)}
    for k, marker in enumerate(markers):
        cols = [column[f] for f in explainer.layout_.features_of[marker] if f in column]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: unprofiled
            altered[:, k] = np.nanmax(values[:, cols], axis=1) if cols else np.nan
    rng = np.random.default_rng(0)
    shown = [o for o in main if o in marker_shap]
    fig, axes = plt.subplots(2, 4, figsize=(20, 11))
    for ax, organ in zip(axes.ravel(), shown, strict=False):
        shap = marker_shap[organ]
        strength = np.where(intrinsic, np.abs(shap).mean(0), -1)
        top = np.argsort(-strength)[:12][::-1]
        for row, k in enumerate(top):
            sample = rng.choice(len(x), size=min(len(x), 1500), replace=False)
            v, a = shap[sample, k], altered[sample, k]
            # binary markers: altered red, not altered blue; continuous: scaled value
            finite = a[np.isfinite(a)]
            lo, hi = (np.nanpercentile(finite, [5, 95]) if finite.size else (0.0, 1.0))
            colour = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
            ax.scatter(v, row + rng.uniform(-0.3, 0.3, len(v)), c=np.nan_to_num(colour, nan=0.5),
                       cmap="coolwarm", s=3, alpha=0.6, vmin=0, vmax=1, rasterized=True)
        ax.set_yticks(range(len(top)), [markers[k] for k in top], fontsize=8)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(organ)
        ax.set_xlabel("SHAP (log-odds)")
    fig.suptitle("Marker SHAP, final model (red: altered / high, blue: not altered / low)")
    fig.tight_layout()
    fig.savefig(report_dir / "shap_beeswarm.png", dpi=70)
    plt.close(fig)

    rows = sorted({(e.marker, e.cancer_types or ("-",)) for e in agreement.entries},
                  key=lambda r: r[0])
    labels = [f"{m} ({', '.join(t)[:28]})" for m, t in rows]
    organs = sorted({e.organ for e in agreement.entries})
    grid = np.full((len(rows), len(organs)), np.nan)
    marks = {}
    for e in agreement.entries:
        i, j = rows.index((e.marker, e.cancer_types or ("-",))), organs.index(e.organ)
        if e.verdict != "untestable":
            grid[i, j] = e.difference * (1 if e.direction == "up" else -1)
        marks[(i, j)] = {"agree": "✓", "disagree": "✗", "neutral": "·",
                         "untestable": "?"}[e.verdict]
    limit = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
    fig, ax = plt.subplots(figsize=(1.1 * len(organs) + 5, 0.38 * len(rows) + 2))
    image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for (i, j), mark in marks.items():
        ax.text(j, i, mark, ha="center", va="center", fontsize=10)
    ax.set_xticks(range(len(organs)), organs, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    fig.colorbar(image, ax=ax, label="SHAP difference in the documented direction")
    ax.set_title(f"Concordance with documented mechanisms: {agreement.agreement:.0%} agree "
                 "(✓ agree, ✗ disagree, · neutral, ? untestable)")
    fig.tight_layout()
    fig.savefig(report_dir / "concordance_heatmap.png", dpi=80)
    plt.close(fig)


def _log_mlflow(config: ExperimentConfig, metrics: dict, report_dir: Path,
                builder: FeatureBuilder, final: OrganotropismModel, x_used: pd.DataFrame,
                site_metrics: dict[str, OrganMetrics], audit: AuditReport,
                cohort: Cohort, log: Log = print) -> tuple[str, str, str, bool]:
    import mlflow
    from mlflow import MlflowClient

    from ._loading import configure_tracking

    configure_tracking()
    mlflow.set_experiment(config.mlflow_experiment)
    primary_metric = "macro_within_type_auroc_main8"
    with mlflow.start_run(run_name=config.name) as run:
        mlflow.log_params({"population": config.population, "n_splits": config.n_splits,
                           "min_carriers": config.min_carriers, "seed": config.seed,
                           "config": config.path, "leakage.unprofiled": config.unprofiled,
                           **{f"model.{k}": v for k, v in config.model.items()}})
        mlflow.set_tags({"data_fingerprint": cohort.fingerprint, "cohort": cohort.study_id,
                         "git_commit": metrics["git_commit"],
                         "leakage_policy": leakage_policy(config),
                         **{f"version.{k}": v for k, v in metrics["versions"].items()}})
        mlflow.log_metrics({primary_metric: metrics[primary_metric],
                            "macro_prior_within_type_auroc_main8":
                                metrics["macro_prior_within_type_auroc_main8"],
                            "n_patients": metrics["n_patients"],
                            "n_features": metrics["n_features"],
                            "n_refused_features": len(audit.refused_features),
                            "concordance_agreement": metrics["concordance"]["agreement"]})
        mlflow.log_dict(metrics["concordance"], "report/concordance.json")
        for organ, m in site_metrics.items():
            with mlflow.start_run(run_name=organ, nested=True):
                mlflow.set_tag("organ", organ)
                mlflow.log_metrics({k: float(v) for k, v in m.to_dict().items()
                                    if isinstance(v, float) and np.isfinite(v)})
        for name in ("per_organ.csv", "per_cancer_type.csv", "report.md",
                     "roc.png", "calibration.png", "shap_beeswarm.png",
                     "concordance_heatmap.png"):
            if (report_dir / name).exists():
                mlflow.log_artifact(str(report_dir / name), artifact_path="report")
        mlflow.log_dict(audit.to_dict(), "report/leakage_audit.json")
        info = log_model(builder, final, x_used.head(5),
                         metadata={"cohort": cohort.study_id,
                                   "citation": cohort.meta.get("citation", ""),
                                   "fingerprint": cohort.fingerprint,
                                   "population": config.population,
                                   "train_prevalence": final.train_prevalence_,
                                   "recipes_version": builder.recipes_version_},
                         registered_model_name=config.registered_model)
        version = str(info.registered_model_version)
        client = MlflowClient()
        champion = _promote(client, config.registered_model, version,
                            metrics[primary_metric], primary_metric, leakage_policy(config),
                            log)
        return run.info.run_id, f"models:/{config.registered_model}/{version}", version, champion


def log_model(builder: FeatureBuilder, model: OrganotropismModel, example: pd.DataFrame,
              metadata: dict[str, object], registered_model_name: str | None = None):
    """Log features + boosters as a pyfunc from code (`_mlflow_model.py`) in the active run,
    with a pickle-free bundle artifact, a signature (every input optional) and an input
    example whose categories are strings; optionally register it. Returns MLflow's
    ModelInfo."""
    import mlflow
    from mlflow.models import infer_signature

    from ._bundle import save_bundle
    from ._features import categories_from_strings

    with tempfile.TemporaryDirectory() as tmp:
        bundle = save_bundle(builder, model, Path(tmp) / "bundle", metadata=metadata)
        example = categories_to_strings(example, builder)
        proba = model.predict_proba(categories_from_strings(example, builder))
        proba.columns = [f"p_{c}" for c in proba.columns]
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("_mlflow_model.py")),
            artifacts={"bundle": str(bundle)},
            input_example=example,
            signature=_optional_signature(infer_signature(example, proba)),
            registered_model_name=registered_model_name,
        )


def _optional_signature(signature):
    """Every input column optional: a cohort without TMB, or a panel without a gene, is
    scored with NaN for what it lacks, as the model was trained to handle."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = Schema([ColSpec(c.type, c.name, required=False) for c in signature.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=signature.outputs)


def _promote(client, name: str, version: str, value: float, metric: str,
             policy: str, log: Log = print) -> bool:
    """Alias `champion` to `version` if it beats the current champion on `metric`.

    Metrics are compared only between runs trained under the same leakage policy. A run under
    this release's policy replaces a champion trained under any other (an older leakage.toml,
    or an override): that champion's figure may rest on a channel the current rules close.
    A run under another policy never displaces a champion under this release's policy.
    """
    try:
        current = client.get_model_version_by_alias(name, "champion")
    except Exception:  # no champion yet
        current = None
    if current is not None:
        run = client.get_run(current.run_id).data
        their_policy = run.tags.get("leakage_policy", "")
        if their_policy == policy:
            if value <= run.metrics.get(metric, float("-inf")):
                return False
        elif policy != shipped_leakage_policy():
            log(f"champion v{current.version} was trained under this release's leakage policy; "
                f"a run under {policy} does not replace it")
            return False
        else:
            log(f"champion v{current.version} was trained under leakage policy "
                f"{their_policy or '(not recorded)'}, this run under {policy}: their metrics "
                "are not compared and this run replaces it")
    client.set_registered_model_alias(name, "champion", version)
    return True
