"""What each `organo-predict` command does: thin handlers over the library that print plain
text (never console markup), and the console they print to. The parser and the exit codes
are `cli`'s."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.text import Text

from .._base._errors import CohortWarning, ConfigError, OrganoPredictError, OrganoPredictWarning

__all__ = ["Handler", "console", "out", "print_table", "say", "show_warning"]

console = Console(stderr=True)
out = Console()

Handler = Callable[[argparse.Namespace], int]


def say(text: str, style: str = "", to: Console = console) -> None:
    """Print `text` as it is: a Text, so a `[section]` or `:x:` in a message (or in the
    input it quotes) is never read as console markup or an emoji code."""
    to.print(Text(text, style=style), soft_wrap=True, highlight=False)


def show_warning(message: Warning | str, category: type[Warning], filename: str,
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


def cmd_download(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from .._cohort._download import download_study

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"downloading {args.study_id}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        result = download_study(args.study_id, args.dest, url=args.url, timeout=args.timeout,
                                progress=progress, overwrite=args.force)
    say(f"{result.path}  ({result.n_bytes:,} bytes, sha256 {result.sha256})", to=out)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit 0 for a clean study; 2 when the reader had to guess or drop anything (a value
    read as missing, a panel without a gene list, no meta_study.txt, a wrong type line).
    Also says how many mutation rows have a variant class, in the file and inferred."""
    from .._features._maf import class_coverage
    from .._knowledge._recipes import load_recipes
    from ._sources import load_source

    cohort, said = load_source(args.study, _panels(args))
    problems = [w for w in said if isinstance(w, CohortWarning)]
    for warning in said:
        say(f"{'problem' if warning in problems else 'note'}: {warning}",
            "red" if warning in problems else "yellow")
    say(repr(cohort), to=out)
    say(class_coverage(cohort.mutations, load_recipes()).sentence(), to=out)
    if problems:
        say(f"{len(problems)} problem(s) found in {args.study}", "bold red")
        return 2
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from ._config import load_config
    from ._experiment import run_experiment

    config = load_config(args.config)
    if args.panel:
        config = replace(config, panels={**config.panels, **_panels(args)})
    report_dir = args.report_dir or Path("reports") / config.name
    result = run_experiment(config, report_dir,
                            log=lambda m: say(m, "dim"),
                            use_mlflow=not args.no_mlflow, engine=args.engine,
                            scheduler=args.scheduler)
    rows = [[*_skill_cells(organ, m), f"{m['auroc_primary']:.3f}",
             f"{m['clinical_auroc']:.3f}", f"{m['ece']:.3f}"]
            for organ, m in result.metrics["sites"].items()]
    print_table(f"{config.name}: {result.metrics['population']} population, "
                f"{result.metrics['n_patients']:,} patients (out-of-fold)",
                [*SKILL_COLUMNS, "primary", "clinical", "ECE"], rows)
    say(f"macro within-type AUROC, main {len(result.metrics['main_organs'])} organs: "
        f"{result.metrics['macro_within_type_auroc_main8']:.3f} (subtype prior "
        f"{result.metrics['macro_prior_within_type_auroc_main8']:.3f})", "bold", to=out)
    _say_fidelity(result.metrics["fidelity"])
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
    from ._sources import load_cohort

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
    from .._cohort._organs import checked_organs

    checked_organs(labels, "--label")
    return labels


SKILL_COLUMNS = ["organ", "prev.", "AUROC", "95% CI", "within type", "prior within",
                 "gain within [95% CI]"]


def _skill_cells(organ: str, m: dict) -> list[str]:
    """The `SKILL_COLUMNS` cells of an organ's metrics (`experiment` and `evaluate`)."""
    from .._base._formatting import NOT_ESTIMABLE, shown, signed_interval

    lo, hi = (shown(v) for v in m["auroc_ci"])
    return [organ, shown(m["prevalence"]), shown(m["auroc"]),
            NOT_ESTIMABLE if NOT_ESTIMABLE in (lo, hi) else f"{lo}-{hi}",
            shown(m["auroc_within_type"]), shown(m["prior_auroc_within_type"]),
            signed_interval(m["gain_within_type"], m["gain_within_type_ci"])]


def cmd_explain(args: argparse.Namespace) -> int:
    import json

    from .._cohort._organs import checked_organs

    if args.plot is not None:  # a bad plot destination fails before any work
        if args.plot.suffix.lower() not in (".png", ".pdf", ".svg"):
            raise OrganoPredictError(f"--plot {args.plot}: use a .png, .pdf or .svg file name")
        if not args.plot.absolute().parent.is_dir():
            raise OrganoPredictError(f"--plot {args.plot}: folder {args.plot.parent} does not "
                                     "exist")
    organs = checked_organs(args.organ, "--organ") if args.organ else None  # before loading
    from .._explain._explainer import (
        Explainer,  # the heavy libraries, once the flags are known good
    )
    from .._model._loading import load_model

    cohort = _load_cohort(args.cohort, _panels(args))
    sample_id = args.sample_id
    if sample_id not in cohort.samples.index:
        by_patient = cohort.samples.index[cohort.samples["PATIENT_ID"] == sample_id]
        if len(by_patient) == 0:
            raise OrganoPredictError(f"sample {sample_id!r} is neither a SAMPLE_ID nor a "
                                     f"PATIENT_ID of cohort {cohort.study_id}")
        sample_id = str(by_patient[0])
    loaded = load_model(args.model)  # the arguments are known good by now
    if organs is not None:
        checked_organs(organs, "--organ", known=loaded.model.organs_)
    one = cohort.subset([sample_id])
    loaded.builder.check_cancer_types(one, args.unknown_cancer_type)
    features = loaded.builder.transform(one)
    explainer = Explainer.from_loaded(loaded)
    explanation = explainer.explain(features, [sample_id], top_k=args.top, organs=organs)[0]
    if args.plot:
        from .._cohort._organs import MAIN_ORGANS

        shown = organs or [o for o in MAIN_ORGANS if o in loaded.model.organs_]
        _waterfalls(explainer, features, shown, args.plot)
        say(f"waterfall plot of {', '.join(shown)}: {args.plot}"
            + ("" if organs else " (the main organs; --organ picks others)"))
    if args.json:
        out.print_json(json.dumps(explanation.to_dict()))
    else:
        out.print(explanation.render(), highlight=False, markup=False, soft_wrap=True)
    return 0


def _waterfalls(explainer, features, organs: list[str], path: Path) -> Path:  # noqa: ANN001
    """One file, `path`: `shap.plots.waterfall` of the patient for each organ, side by
    side (shap draws one waterfall per figure, so each is drawn alone and placed)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt
    import shap

    panels = []
    for organ in organs:
        shap.plots.waterfall(explainer.shap_values(features, organ)[0], max_display=12,
                             show=False)
        plt.title(f"{organ}: SHAP on the calibrated log-odds of metastasis there; "
                  "E[f(X)] is the patient's cancer-type/subtype prior", fontsize=10)
        buffer = io.BytesIO()
        plt.savefig(buffer, format="png", bbox_inches="tight", dpi=90)
        plt.close("all")
        buffer.seek(0)
        panels.append(matplotlib.image.imread(buffer))
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    height = max(p.shape[0] for p in panels) / 90
    width = max(p.shape[1] for p in panels) / 90
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        ax.imshow(panel)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _stored_mechanisms(args: argparse.Namespace) -> dict | None:
    """On the embedded cohort, the table the model was trained with, read from its
    metadata alone when the cohort's fingerprint says it is the training cohort (no model
    built, no cohort read: `mechanisms_on` gives the same table the long way)."""
    from ..datasets import msk_met_fingerprint

    fingerprint = msk_met_fingerprint()
    if fingerprint is None:
        return None
    from .._model._loading import load_metadata

    metadata = load_metadata(args.model)
    stored = metadata.get("mechanisms")
    return stored if isinstance(stored, dict) and metadata.get("fingerprint") == fingerprint \
        else None


def cmd_mechanisms(args: argparse.Namespace) -> int:
    import json

    labels, panels = _labels(args), _panels(args)  # bad flags fail before any work
    table = _stored_mechanisms(args) if args.cohort is None and not labels else None
    if table is None:
        from .._evaluate._external import mechanisms_on
        from .._model._loading import load_model

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
    from .._base._formatting import signed_interval

    return signed_interval(block["diff"], block["ci"])


def _say_fidelity(fidelity: dict) -> None:
    """One line: the documented contrasts the predictions reproduce, pooled, with interval."""
    if not fidelity["n_pooled"]:
        return
    low, high = fidelity["pooled_ratio_ci"]
    say(f"fidelity ({fidelity['predictions']}): predicted contrasts are "
        f"{fidelity['pooled_ratio']:.2f} [{low:.2f}, {high:.2f}] of the observed, over the "
        f"{fidelity['n_pooled']} documented entries the cohort replicates", to=out)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .._evaluate._external import evaluate_model
    from .._model._loading import check_tracking_writable, load_model
    from ._reporting import (
        check_report_dir,
        evaluation_metrics,
        staged_folder,
        write_evaluation,
    )

    labels, panels = _labels(args), _panels(args)  # bad flags fail before any work
    if args.report_dir is not None:  # a file in the way fails before any work
        check_report_dir(args.report_dir)
    if not args.no_mlflow:
        check_tracking_writable()
    loaded = load_model(args.model)
    cohort = _load_cohort(args.study, panels)
    loaded.builder.check_cancer_types(cohort, args.unknown_cancer_type)  # before any work
    report_dir = args.report_dir or Path("reports") / f"evaluate-{cohort.study_id}"
    if args.report_dir is None:  # the default one, now that the study names it
        check_report_dir(report_dir)
    evaluation = evaluate_model(loaded, cohort, labels, n_bootstrap=args.n_bootstrap,
                                unknown_cancer_type=args.unknown_cancer_type)
    metrics = evaluation_metrics(evaluation, dict(loaded.info))
    with staged_folder(report_dir) as staging:  # this run's files only, renamed into place
        write_evaluation(staging, evaluation, metrics)
        if not args.no_mlflow:
            from ._tracking import log_evaluation

            run_id = log_evaluation(metrics, staging, cohort, dict(loaded.info))
            say(f"MLflow run {run_id} (tagged on the model version it evaluated)", to=out)
    rows = [[*_skill_cells(organ, m), f"{m['calibration_in_the_large']:+.3f}"]
            for organ, m in metrics["sites"].items()]
    print_table(f"{loaded.uri} on {cohort.study_id}: {evaluation.n_samples:,} samples",
                [*SKILL_COLUMNS, "obs. - pred."], rows)
    for organ, why in evaluation.not_evaluated.items():
        say(f"{organ}: not evaluated, {why}", to=out)
    if "fidelity" in metrics:
        _say_fidelity(metrics["fidelity"])
    _say_unseen_genes(loaded.builder, cohort)
    say(f"report: {report_dir / 'report.md'}, {report_dir / 'metrics.json'}", to=out)
    return 0


def cmd_recalibrate(args: argparse.Namespace) -> int:
    from .._evaluate._external import recalibrate_model
    from .._model._loading import DEFAULT_MODEL_URI, check_tracking_writable, load_model

    if args.alias == "champion":
        raise ConfigError("--alias champion: a recalibrated model never takes the champion "
                          "alias; name another (default: local)")
    labels, panels = _labels(args), _panels(args)  # bad flags fail before any work
    if not args.bundle:
        check_tracking_writable(otherwise="pass --bundle to save it as a folder")
    loaded = load_model(args.model)
    cohort = _load_cohort(args.study, panels)
    result = recalibrate_model(loaded, cohort, labels)
    if not result.updates:
        raise OrganoPredictError(f"no organ of {cohort.study_id} has enough positives and "
                                 "negatives to recalibrate: " + "; ".join(
                                     f"{o}: {why}" for o, why in result.skipped.items()))
    metadata = {**loaded.metadata, "recalibrated_on": cohort.study_id,
                "recalibrated_from": loaded.uri,
                "recalibration": {o: {"intercept": u.intercept, "slope": u.slope}
                                  for o, u in result.updates.items()}}
    if args.bundle:
        from .._model._bundle import save_bundle

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
                [[o, f"{u.intercept:+.3f}", f"{u.slope:.3f}"]
                 for o, u in result.updates.items()])
    for organ, why in result.skipped.items():
        say(f"{organ}: left as it was, {why}", to=out)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from .._model._loading import load_model
    from ._score import check_output, score_cohort

    check_output(args.out, args.overwrite)  # a bad destination fails before any work
    if args.engine == "spark" and args.explain:
        raise ConfigError("--explain is computed by the local engine only; the Spark engine "
                          "scores probabilities (run --explain locally, in chunks)")
    loaded = load_model(args.model)
    cohort = _load_cohort(args.cohort, _panels(args))
    loaded.builder.check_cancer_types(cohort, args.unknown_cancer_type)  # before any work
    scorer = None
    if args.engine == "spark":
        from .._model._loading import DEFAULT_MODEL_URI
        from .._model._models import probability_column_names
        from ._spark import SparkScorer

        scorer = SparkScorer(args.model or DEFAULT_MODEL_URI, loaded.builder,
                             list(loaded.model.organs_), master=args.spark_master,
                             output=probability_column_names(loaded.model))
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("scoring", total=len(cohort.samples))
        try:
            summary = score_cohort(cohort, loaded, args.out, explain_k=args.explain,
                                   chunk_size=args.chunk_size, scorer=scorer,
                                   overwrite=args.overwrite,
                                   layout="long" if args.long else "wide",
                                   unknown_cancer_type=args.unknown_cancer_type,
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


def cmd_serve(args: argparse.Namespace) -> int:
    from ._serve import run_server

    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    run_server(args.model, host=args.host, port=args.port, workers=args.workers,
               access_log=not args.no_access_log)
    return 0
