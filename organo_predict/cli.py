"""The `organo-predict` command line: thin wrappers that turn errors into clear messages."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ._errors import (
    CLI_NAMES,
    CohortWarning,
    ConfigError,
    OrganoPredictError,
    OrganoPredictWarning,
)

console = Console(stderr=True)
out = Console()

Handler = Callable[[argparse.Namespace], int]


def say(text: str, style: str = "", to: Console = console) -> None:
    """Print `text` as it is: a Text, so a `[section]` or `:x:` in a message (or in the
    input it quotes) is never read as console markup or an emoji code."""
    to.print(Text(text, style=style), soft_wrap=True, highlight=False)


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: object = None, line: str | None = None) -> None:
    """Our own warnings as one plain line (`warning: ...`), not Python's source-line form
    pointing into whichever library called us; other warnings as Python shows them."""
    if issubclass(category, OrganoPredictWarning):
        say(f"warning: {message}", "yellow")
    else:
        _python_show_warning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_python_show_warning = warnings.showwarning


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A table on stdout: drawn by rich on a terminal; as plain aligned text otherwise (a log
    file, CI, a pipe), where rich would squeeze it to 80 columns and cut every number."""
    if out.is_terminal:
        from rich.table import Table

        table = Table(title=title)
        for i, column in enumerate(columns):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    widths = [max(map(len, column)) for column in zip(columns, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths, strict=True)))

    say("\n".join([title, line(columns), line(["-" * w for w in widths]), *map(line, rows)]),
        to=out)


def _cmd_download(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from ._download import download_study

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"downloading {args.study_id}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        result = download_study(args.study_id, args.dest, url=args.url, timeout=args.timeout,
                                progress=progress, overwrite=args.force)
    say(f"{result.path}  ({result.n_bytes:,} bytes, sha256 {result.sha256})", to=out)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    """Exit 0 for a clean study; 2 when the reader had to guess or drop anything (a value
    read as missing, a panel without a gene list, no meta_study.txt, a wrong type line)."""
    from ._cohort import load_source

    cohort, said = load_source(args.study, _panels(args))
    problems = [w for w in said if isinstance(w, CohortWarning)]
    for warning in said:
        say(f"{'problem' if warning in problems else 'note'}: {warning}",
            "red" if warning in problems else "yellow")
    say(repr(cohort), to=out)
    if problems:
        say(f"{len(problems)} problem(s) found in {args.study}", "bold red")
        return 2
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    from ._config import load_config
    from ._experiment import run_experiment

    config = load_config(args.config)
    if args.panel:
        config = replace(config, panels={**config.panels, **_panels(args)})
    report_dir = args.report_dir or Path("reports") / config.name
    result = run_experiment(config, report_dir,
                            log=lambda m: say(m, "dim"),
                            use_mlflow=not args.no_mlflow)
    rows = []
    for organ, m in result.metrics["sites"].items():
        lo, hi = m["gain_within_type_ci"]
        rows.append([organ, f"{m['prevalence']:.3f}", f"{m['auroc']:.3f}",
                     f"{m['auroc_ci'][0]:.3f}-{m['auroc_ci'][1]:.3f}",
                     f"{m['auroc_within_type']:.3f}", f"{m['prior_auroc_within_type']:.3f}",
                     f"{m['gain_within_type']:+.3f} [{lo:+.3f}, {hi:+.3f}]",
                     f"{m['auroc_primary']:.3f}", f"{m['clinical_auroc']:.3f}",
                     f"{m['ece']:.3f}"])
    print_table(f"{config.name}: {result.metrics['population']} population, "
                f"{result.metrics['n_patients']:,} patients (out-of-fold)",
                ["organ", "prev.", "AUROC", "95% CI", "within type", "prior within",
                 "gain within [95% CI]", "primary", "clinical", "ECE"], rows)
    say(f"macro within-type AUROC, main 8 organs: "
        f"{result.metrics['macro_within_type_auroc_main8']:.3f} (subtype prior "
        f"{result.metrics['macro_prior_within_type_auroc_main8']:.3f})", "bold", to=out)
    if result.model_uri:
        say(f"model {result.model_uri}" + (" -> alias champion" if result.champion else
                                           " (champion unchanged)"), to=out)
    say(f"report: {report_dir / 'report.md'}, {report_dir / 'metrics.json'}", to=out)
    return 0


def _load_cohort(path: str | Path | None,  # noqa: ANN202 - a Cohort; imported lazily
                 panels: dict[str, str] | None = None):
    """The study at `path` (default: the embedded cohort), with the gene lists of `panels`;
    the reader's warnings are printed to stderr, one line each (gene symbols off every
    panel are not: real cohorts have them, and `validate` lists them)."""
    from ._experiment import load_cohort

    return load_cohort(str(path) if path else None,
                       log=lambda message: say(message, "yellow"), panels=panels)


def _say_unseen_genes(builder, cohort) -> None:  # noqa: ANN001 - imported lazily
    """Gene symbols the model never saw: counted, the first few named."""
    genes = builder.unseen_genes(cohort)
    if genes:
        say(f"{len(genes):,} mutated gene symbol(s) outside the training vocabulary, read as "
            f"nothing: {', '.join(genes[:8])}{', ...' if len(genes) > 8 else ''}", to=out)


def _pairs(values: list[str] | None, flag: str, what: str) -> dict[str, str]:
    """NAME=VALUE flags (repeatable) as a dict; a malformed one names the flag."""
    pairs = {}
    for value in values or []:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ConfigError(f"{flag} {value}: use {what}")
        pairs[name.strip()] = rest.strip()
    return pairs


def _panels(args: argparse.Namespace) -> dict[str, str]:
    return _pairs(getattr(args, "panel", None), "--panel", "NAME=FILE (a cBioPortal "
                                                           "gene-panel file or one gene per line)")


def _labels(args: argparse.Namespace) -> dict[str, str]:
    labels = {k.upper(): v for k, v in _pairs(getattr(args, "label", None), "--label",
                                              "ORGAN=COLUMN").items()}
    from ._schemas import ORGANS, did_you_mean

    for organ in labels:
        if organ not in ORGANS:
            raise ConfigError(f"--label {organ}: not an organ{did_you_mean(organ, ORGANS)}")
    return labels


def _cmd_explain(args: argparse.Namespace) -> int:
    import json

    from ._explain import Explainer
    from ._loading import load_model

    if args.plot is not None:  # a bad plot destination fails before any work
        if args.plot.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise OrganoPredictError(f"--plot {args.plot}: use a .png, .pdf or .svg file name")
        if not args.plot.absolute().parent.is_dir():
            raise OrganoPredictError(f"--plot {args.plot}: folder {args.plot.parent} does not "
                                     "exist")
    loaded = load_model(args.model)
    cohort = _load_cohort(args.cohort, _panels(args))
    sample_id = args.sample_id
    if sample_id not in cohort.samples.index:
        by_patient = cohort.samples.index[cohort.samples["PATIENT_ID"] == sample_id]
        if len(by_patient) == 0:
            raise OrganoPredictError(f"sample {sample_id!r} is neither a SAMPLE_ID nor a "
                                     f"PATIENT_ID of cohort {cohort.study_id}")
        sample_id = str(by_patient[0])
    features = loaded.builder.transform(cohort.subset([sample_id]))
    organs = [o.upper() for o in args.organ] if args.organ else None
    unknown = sorted(set(organs or []) - set(loaded.model.organs_))
    if unknown:
        raise OrganoPredictError(f"--organ {', '.join(unknown)}: not an organ of the model "
                                 f"({', '.join(loaded.model.organs_)})")
    explainer = Explainer.from_loaded(loaded)
    explanation = explainer.explain(features, [sample_id], top_k=args.top, organs=organs)[0]
    if args.plot:
        written = _waterfalls(explainer, features, organs or list(loaded.model.organs_),
                              args.plot)
        say(f"waterfall plots: {', '.join(str(p) for p in written)}")
    if args.json:
        out.print_json(json.dumps(explanation.to_dict()))
    else:
        out.print(explanation.render(), highlight=False, markup=False, soft_wrap=True)
    return 0


def _waterfalls(explainer, features, organs: list[str], path: Path) -> list[Path]:  # noqa: ANN001
    """`shap.plots.waterfall` of one patient for each organ: `path` itself for one organ,
    `<stem>_<ORGAN><suffix>` beside it for several."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    written = []
    for organ in organs:
        target = path if len(organs) == 1 else path.with_name(
            f"{path.stem}_{organ}{path.suffix}")
        shap.plots.waterfall(explainer.shap_values(features, organ)[0], max_display=12,
                             show=False)
        plt.title(f"{organ}: SHAP on the calibrated log-odds", fontsize=10)
        plt.savefig(target, bbox_inches="tight", dpi=90)
        plt.close("all")
        written.append(target)
    return written


def _cmd_mechanisms(args: argparse.Namespace) -> int:
    import json

    from ._experiment import mechanisms_on
    from ._loading import load_model

    labels, panels = _labels(args), _panels(args)  # bad flags fail before any work
    loaded = load_model(args.model)
    table = mechanisms_on(loaded, _load_cohort(args.cohort, panels), labels)
    if args.json:
        out.print_json(json.dumps(table))
        return 0
    summary, rows = table["summary"], []
    for e in table["entries"]:
        c, m, a = e["cohort"], e["model_marginal"], e["attribution"]
        v = e["verdict"]
        rows.append([e["id"], e["direction"], str(e["n_carriers"]),
                     f"{c['or']:.2f} [{c['or_ci'][0]:.2f}, {c['or_ci'][1]:.2f}]" if c else "",
                     f"{c['q']:.2g}" if c else "",
                     _interval(m) if m else "", _interval(a) if a else "",
                     e["reason"] or f"{v['cohort']}; model {v['model']}; {v['attribution']}"])
    print_table(f"Documented mechanisms in {summary['cohort']} (model intervals: "
                f"{summary['model_intervals']})",
                ["entry", "doc.", "carriers", "cohort OR [95% CI]", "q", "model Δrate",
                 "attribution (log-odds)", "verdict"], rows)
    say(f"the cohort replicates {summary['replicated']} of {summary['testable']} testable "
        f"entries; the model reproduces {summary['reproduced_by_model']} of them and "
        f"attributes {summary['attributed_to_marker']} to the marker itself", to=out)
    return 0


def _interval(block: dict) -> str:
    low, high = block["ci"]
    return f"{block['diff']:+.3f} [{low:+.3f}, {high:+.3f}]"


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ._external import evaluate_model
    from ._loading import load_model
    from ._reporting import evaluation_metrics, write_evaluation

    labels, panels = _labels(args), _panels(args)  # bad flags fail before any work
    loaded = load_model(args.model)
    cohort = _load_cohort(args.study, panels)
    evaluation = evaluate_model(loaded, cohort, labels, n_bootstrap=args.n_bootstrap)
    metrics = evaluation_metrics(evaluation, dict(loaded.info))
    report_dir = args.report_dir or Path("reports") / f"evaluate-{cohort.study_id}"
    write_evaluation(report_dir, evaluation, metrics)
    if not args.no_mlflow:
        from ._tracking import log_evaluation

        metrics["mlflow_run_id"] = log_evaluation(metrics, report_dir, cohort, dict(loaded.info))
    rows = []
    for organ, m in metrics["sites"].items():
        lo, hi = m["gain_within_type_ci"]
        rows.append([organ, f"{m['prevalence']:.3f}", f"{m['auroc']:.3f}",
                     f"{m['auroc_ci'][0]:.3f}-{m['auroc_ci'][1]:.3f}",
                     f"{m['auroc_within_type']:.3f}", f"{m['prior_auroc_within_type']:.3f}",
                     f"{m['gain_within_type']:+.3f} [{lo:+.3f}, {hi:+.3f}]",
                     f"{m['calibration_in_the_large']:+.3f}"])
    print_table(f"{loaded.uri} on {cohort.study_id}: {evaluation.n_samples:,} samples",
                ["organ", "prev.", "AUROC", "95% CI", "within type", "prior within",
                 "gain within [95% CI]", "obs. - pred."], rows)
    for organ, why in evaluation.not_evaluated.items():
        say(f"{organ}: not evaluated, {why}", to=out)
    _say_unseen_genes(loaded.builder, cohort)
    say(f"report: {report_dir / 'report.md'}, {report_dir / 'metrics.json'}", to=out)
    return 0


def _cmd_recalibrate(args: argparse.Namespace) -> int:
    from ._external import recalibrate_model
    from ._loading import DEFAULT_MODEL_URI, load_model

    if args.alias == "champion":
        raise ConfigError("--alias champion: a recalibrated model never takes the champion "
                          "alias; name another (default: local)")
    labels, panels = _labels(args), _panels(args)  # bad flags fail before any work
    loaded = load_model(args.model)
    cohort = _load_cohort(args.study, panels)
    result = recalibrate_model(loaded, cohort, labels)
    if not result.updates:
        raise OrganoPredictError(f"no organ of {cohort.study_id} has enough positives and "
                                 "negatives to recalibrate: " + "; ".join(
                                     f"{o}: {why}" for o, why in result.skipped.items()))
    metadata = {**loaded.metadata, "recalibrated_on": cohort.study_id,
                "recalibrated_from": loaded.uri,
                "recalibration": {o: {"intercept": a, "slope": b}
                                  for o, (a, b) in result.updates.items()}}
    if args.bundle:
        from ._bundle import save_bundle

        where = save_bundle(loaded.builder, result.model, args.bundle, metadata=metadata)
        say(f"recalibrated model saved to {where}", to=out)
    else:
        from ._tracking import register_recalibrated

        name = str(loaded.info.get("name") or args.name)
        example = loaded.builder.transform(cohort.subset(list(cohort.samples.index[:5])))
        version = register_recalibrated(loaded.builder, result.model,
                                        example[list(result.model.feature_names_)], metadata,
                                        name, args.alias, result.updates)
        say(f"models:/{name}/{version} -> alias {args.alias} (champion unchanged; "
            f"{(args.model or DEFAULT_MODEL_URI)} is where it came from)", to=out)
    print_table(f"recalibrated on {cohort.study_id}: new log-odds = a + b x old",
                ["organ", "a (intercept)", "b (slope)"],
                [[o, f"{a:+.3f}", f"{b:.3f}"] for o, (a, b) in result.updates.items()])
    for organ, why in result.skipped.items():
        say(f"{organ}: left as it was, {why}", to=out)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ._loading import load_model
    from ._score import check_output, score_cohort

    check_output(args.out, args.overwrite)  # a bad destination fails before any work
    if args.engine == "spark" and args.explain:
        raise ConfigError("--explain is computed by the local engine only; the Spark engine "
                          "scores probabilities (run --explain locally, in chunks)")
    loaded = load_model(args.model)
    cohort = _load_cohort(args.cohort, _panels(args))
    scorer = None
    if args.engine == "spark":
        from ._loading import DEFAULT_MODEL_URI
        from ._spark import SparkScorer

        scorer = SparkScorer(args.model or DEFAULT_MODEL_URI, loaded.builder,
                             list(loaded.model.organs_), master=args.spark_master)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("scoring", total=len(cohort.samples))
        try:
            summary = score_cohort(cohort, loaded, args.out, explain_k=args.explain,
                                   chunk_size=args.chunk_size, scorer=scorer,
                                   overwrite=args.overwrite,
                                   progress=lambda done, total: bar.update(task,
                                                                           completed=done))
        finally:
            if scorer is not None:
                scorer.stop()
    print_table(f"{summary.n_samples:,} samples of {cohort.study_id} scored in "
                f"{summary.elapsed_s:.1f} s -> {summary.output}",
                ["organ", "expected share", "training prevalence"],
                [[organ, f"{share:.3f}", f"{summary.train_prevalence[organ]:.3f}"]
                 for organ, share in summary.expected_share.items()])
    if summary.unseen:
        say("not seen in training: " + ", ".join(
            f"{k.replace('_', ' ')} {v:,}" for k, v in summary.unseen.items()), to=out)
    _say_unseen_genes(loaded.builder, cohort)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ._serve import run_server

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    run_server(args.model, host=args.host, port=args.port, workers=args.workers,
               access_log=not args.no_access_log)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="organo-predict",
        description="Predict organs of metastasis from tumor genomics, with explanations tied "
                    "to documented mechanisms.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"organo-predict {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_download(sub)
    _add_validate(sub)
    _add_experiment(sub)
    _add_explain(sub)
    _add_mechanisms(sub)
    _add_evaluate(sub)
    _add_recalibrate(sub)
    _add_score(sub)
    _add_serve(sub)
    return parser


def _add_download(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("download", help="fetch a study from cBioPortal's datahub")
    p.add_argument("study_id", metavar="STUDY_ID", help="cBioPortal study id, e.g. msk_met_2021")
    p.add_argument("--dest", type=Path, default=Path("."), help="folder to unpack into")
    p.add_argument("--url", help="tarball URL (default: the public datahub)")
    p.add_argument("--timeout", type=float, default=60.0, help="network timeout, seconds")
    p.add_argument("--force", action="store_true", help="replace an existing study folder")
    p.set_defaults(handler=_cmd_download)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="read and validate a cBioPortal study, print a summary")
    p.add_argument("study", type=Path, metavar="STUDY", help="study folder or .tar.gz")
    _add_cohort_options(p)
    p.set_defaults(handler=_cmd_validate)


def _add_experiment(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiment", help="run a configured experiment (CV, metrics, MLflow)")
    p.add_argument("--config", type=Path, help="experiment TOML (default: the shipped "
                                                "experiments/default.toml)")
    p.add_argument("--report-dir", type=Path, help="where metrics.json and the report go "
                                                   "(default: reports/<name>)")
    p.add_argument("--no-mlflow", action="store_true", help="skip MLflow tracking/registry")
    _add_cohort_options(p)
    p.set_defaults(handler=_cmd_experiment)


def _add_explain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="explain one sample's predictions, organ by organ")
    p.add_argument("sample_id", metavar="SAMPLE_ID", help="SAMPLE_ID (or PATIENT_ID) in the cohort")
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")
    p.add_argument("--cohort", type=Path, help="cBioPortal study folder or .tar.gz (default: "
                                               "the embedded MSK-MET)")
    p.add_argument("--organ", action="append", help="only this organ (repeatable)")
    p.add_argument("--top", type=int, default=5, help="drivers listed each way (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="also draw shap.plots.waterfall per organ asked (FILE_<ORGAN>.png "
                        "for several)")
    _add_cohort_options(p)
    p.set_defaults(handler=_cmd_explain)


def _add_mechanisms(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mechanisms", help="the documented mechanisms: cohort, model and "
                                          "attribution side by side, with 95%% intervals")
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")
    p.add_argument("--cohort", type=Path, help="cBioPortal study folder or .tar.gz (default: "
                                               "the embedded MSK-MET)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_cohort_options(p, labels=True)
    p.set_defaults(handler=_cmd_mechanisms)


def _add_cohort_options(p: argparse.ArgumentParser, labels: bool = False) -> None:
    p.add_argument("--panel", action="append", metavar="NAME=FILE",
                   help="the gene list of a panel the study names but does not define "
                        "(cBioPortal gene-panel file or one gene per line; repeatable)")
    if labels:
        p.add_argument("--label", action="append", metavar="ORGAN=COLUMN",
                       help="the study's column holding an organ's flag (Yes/No, 1/0, "
                            "true/false; default DMETS_DX_<ORGAN>; repeatable)")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model on a labelled cohort it was not "
                                        "trained on (metrics.json, report.md, MLflow)")
    p.add_argument("study", type=Path, metavar="STUDY", help="study folder or .tar.gz")
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")
    p.add_argument("--report-dir", type=Path, help="default: reports/evaluate-<study id>")
    p.add_argument("--n-bootstrap", type=int, default=200, help="bootstrap draws (default 200)")
    p.add_argument("--no-mlflow", action="store_true", help="no MLflow run")
    _add_cohort_options(p, labels=True)
    p.set_defaults(handler=_cmd_evaluate)


def _add_recalibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recalibrate", help="refit each organ's intercept and slope on a "
                                           "labelled cohort; register it under its own alias")
    p.add_argument("study", type=Path, metavar="STUDY", help="study folder or .tar.gz")
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")
    p.add_argument("--alias", default="local", help="registry alias of the recalibrated "
                                                    "version (default local; never champion)")
    p.add_argument("--name", default="organotropism",
                   help="registered model name when --model is a bundle folder")
    p.add_argument("--bundle", type=Path, help="save a bundle folder here instead of "
                                               "registering")
    _add_cohort_options(p, labels=True)
    p.set_defaults(handler=_cmd_recalibrate)


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score every sample of a cohort into a Parquet/CSV file")
    p.add_argument("cohort", metavar="COHORT", help="cBioPortal study folder or .tar.gz "
                                                   "(embedded:msk_met: the embedded cohort)")
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")
    p.add_argument("--out", type=Path, required=True,
                   help="output file: .parquet, .csv, .csv.gz, .tsv or .tsv.gz")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out if it exists (default: refuse)")
    p.add_argument("--explain", type=int, default=0, metavar="K",
                   help="add the top K drivers per organ with their mechanism ids")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="samples per chunk (bounds memory; default 10,000, or 50,000 with "
                        "--explain)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: this process; spark: mlflow.pyfunc.spark_udf on a Spark "
                        "session (pip install 'organo-predict[spark]')")
    p.add_argument("--spark-master", default="local[*]",
                   help="Spark master URL for --engine spark (default local[*])")
    _add_cohort_options(p)
    p.set_defaults(handler=_cmd_score)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the model over HTTP, with a web page at /")
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes, each loading the model once (default 1)")
    p.add_argument("--no-access-log", action="store_true",
                   help="no per-request access log lines (they never carry patient data)")
    p.set_defaults(handler=_cmd_serve)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 on success, 2 on a reported error, 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return handler(args)
    except OrganoPredictError as exc:
        say(f"error: {exc.render(CLI_NAMES)}", "bold red")  # arguments named as flags
        return 2
    except KeyboardInterrupt:
        say("interrupted", "bold red")
        return 130


if __name__ == "__main__":
    sys.exit(main())
