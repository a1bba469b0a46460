"""The commands that read or write a study or a whole cohort: `download`, `validate`,
`experiment`, `score` and `serve`; thin handlers over the library. The commands on a model
and a cohort are `_model_commands`'; what they share, `_terminal`'s. The parser and exit
codes are `cli`'s."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from .._base._errors import CohortWarning, UsageError
from ._terminal import (
    SKILL_COLUMNS,
    cohort_of,
    console,
    out,
    panels_of,
    print_table,
    say,
    say_fidelity,
    say_unseen_genes,
    skill_cells,
)

__all__ = ["cmd_download", "cmd_experiment", "cmd_score", "cmd_serve", "cmd_validate"]


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

    cohort, said = load_source(args.study, panels_of(args))
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
    from .._evaluate._metrics import MACRO_PRIOR_WITHIN_TYPE, MACRO_WITHIN_TYPE
    from ._config import load_config
    from ._experiment import run_experiment

    config = load_config(args.config)
    if args.panel:
        config = replace(config, panels={**config.panels, **panels_of(args)})
    report_dir = args.report_dir or Path("reports") / config.name
    result = run_experiment(config, report_dir,
                            log=lambda m: say(m, "dim"),
                            use_mlflow=not args.no_mlflow, engine=args.engine,
                            scheduler=args.scheduler)
    rows = [[*skill_cells(organ, m), f"{m['auroc_primary']:.3f}",
             f"{m['clinical_auroc']:.3f}", f"{m['ece']:.3f}"]
            for organ, m in result.metrics["sites"].items()]
    print_table(f"{config.name}: {result.metrics['population']} population, "
                f"{result.metrics['n_patients']:,} patients (out-of-fold)",
                [*SKILL_COLUMNS, "primary", "clinical", "ECE"], rows)
    say(f"macro within-type AUROC, main {len(result.metrics['main_organs'])} organs: "
        f"{result.metrics[MACRO_WITHIN_TYPE]:.3f} (subtype prior "
        f"{result.metrics[MACRO_PRIOR_WITHIN_TYPE]:.3f})", "bold", to=out)
    say_fidelity(result.metrics["fidelity"])
    if result.model_uri:
        say(f"model {result.model_uri}" + (" -> alias champion" if result.champion else
                                           " (champion unchanged)"), to=out)
    say(f"report: {report_dir / 'report.md'}, {report_dir / 'metrics.json'}", to=out)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from .._model._loading import load_model
    from ._score import check_output, score_cohort

    check_output(args.out, args.overwrite)  # a bad destination fails before any work
    if args.engine == "spark" and args.explain:
        raise UsageError("--explain is computed by the local engine only; the Spark engine "
                          "scores probabilities (run --explain locally, in chunks)")
    loaded = load_model(args.model)
    cohort = cohort_of(args.cohort, panels_of(args))
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
    say_unseen_genes(loaded.builder, cohort)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ._serve import run_server

    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    run_server(args.model, host=args.host, port=args.port, workers=args.workers,
               access_log=not args.no_access_log)
    return 0

