"""The `organo-predict` command line: the parser, and exit codes (0 done, 2 a reported error,
130 interrupted). What each command does is `_commands`' and `_model_commands`'."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from ._apps import _commands as commands
from ._apps import _model_commands as model_commands
from ._apps._terminal import Handler, print_table, say, show_warning
from ._base._errors import CLI_NAMES, OrganoPredictError

__all__ = ["build_parser", "main", "print_table", "say"]


def _number(kind: type, low: float | None = None, high: float | None = None,
            above: float | None = None) -> object:
    """An argparse type: a `kind` number in [low, high] (or > `above`), refused by argparse
    (exit 2, the flag named) before any work."""
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if (kind is float and value != value) or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (low is not None and value < low) or (high is not None and value > high) or (
                above is not None and value <= above):
            bounds = (f"more than {above:g}" if above is not None else
                      f"at least {low:g}" if high is None else f"from {low:g} to {high:g}")
            raise argparse.ArgumentTypeError(f"{text}: must be {bounds}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="organo-predict",
        description="Predict organs of metastasis from tumor genomics, with explanations tied "
                    "to documented mechanisms.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"organo-predict {__version__}")
    parser.add_argument("--threads", type=_number(int, 1), metavar="N",
                        help="threads for LightGBM and the compiled trees (default: the cores "
                             "this process may use, capped by OMP_NUM_THREADS; never more)")
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
    p.add_argument("--timeout", type=_number(float, above=0), default=60.0, help="seconds the whole download may take (each read too)")
    p.add_argument("--force", action="store_true", help="replace an existing study folder")
    p.set_defaults(handler=commands.cmd_download)


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="read and validate a cBioPortal study, print a summary")
    p.add_argument("study", type=Path, metavar="STUDY", help="study folder or .tar.gz")
    _add_cohort_options(p)
    p.set_defaults(handler=commands.cmd_validate)


def _add_experiment(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiment", help="run a configured experiment (CV, metrics, MLflow)")
    p.add_argument("--config", type=Path, help="experiment TOML (default: the shipped "
                                                "experiments/default.toml)")
    p.add_argument("--report-dir", type=Path, help="where metrics.json and the report go "
                                                   "(default: reports/<name>)")
    p.add_argument("--no-mlflow", action="store_true", help="skip MLflow tracking/registry")
    p.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local: a process pool on this machine; dask: organ x fold tasks on "
                        "dask.distributed (pip install 'organo-predict[dask]'). Same numbers")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running dask scheduler for --engine dask, e.g. tcp://host:8786 "
                        "(default: a LocalCluster of one worker per core)")
    _add_cohort_options(p)
    p.set_defaults(handler=commands.cmd_experiment)


def _add_explain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("explain", help="explain one sample's predictions, organ by organ")
    p.add_argument("sample_id", metavar="SAMPLE_ID", help="SAMPLE_ID (or PATIENT_ID) in the cohort")
    _add_model_option(p)
    p.add_argument("--cohort", type=Path, help="cBioPortal study folder or .tar.gz (default: "
                                               "the embedded MSK-MET)")
    p.add_argument("--organ", action="append", help="only this organ (repeatable)")
    p.add_argument("--top", type=_number(int, 1), default=5, help="drivers listed each way (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="also draw shap.plots.waterfall of each organ asked (default: the "
                        "main organs) into this one file")
    _add_cohort_options(p)
    _add_unknown_type_option(p)
    p.set_defaults(handler=model_commands.cmd_explain)


def _add_mechanisms(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mechanisms", help="the documented mechanisms: cohort, model and "
                                          "attribution side by side, with 95%% intervals")
    _add_model_option(p)
    p.add_argument("--cohort", type=Path, help="cBioPortal study folder or .tar.gz (default: "
                                               "the embedded MSK-MET)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_cohort_options(p, labels=True)
    p.set_defaults(handler=model_commands.cmd_mechanisms)


def _add_model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model URI or bundle folder (default: "
                                   "models:/organotropism@champion)")


def _add_cohort_options(p: argparse.ArgumentParser, labels: bool = False) -> None:
    p.add_argument("--panel", action="append", metavar="NAME=FILE",
                   help="the gene list of a panel the study names but does not define "
                        "(cBioPortal gene-panel file or one gene per line; repeatable)")
    if labels:
        p.add_argument("--label", action="append", metavar="ORGAN=COLUMN",
                       help="the study's column holding an organ's flag (Yes/No, 1/0, "
                            "true/false; default DMETS_DX_<ORGAN>; repeatable)")


def _add_unknown_type_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--unknown-cancer-type", choices=("refuse", "pooled"), default="refuse",
                   help="a cancer type the model has not seen, under any spelling or OncoTree "
                        "code it knows: refuse the cohort, naming it (default), or score "
                        "those samples with the pooled prior")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model on a labelled cohort it was not "
                                        "trained on (metrics.json, report.md, MLflow)")
    p.add_argument("study", type=Path, metavar="STUDY", help="study folder or .tar.gz")
    _add_model_option(p)
    p.add_argument("--report-dir", type=Path, help="default: reports/evaluate-<study id>")
    p.add_argument("--n-bootstrap", type=_number(int, 1, 100_000), default=200, help="bootstrap draws (default 200)")
    p.add_argument("--no-mlflow", action="store_true", help="no MLflow run")
    _add_cohort_options(p, labels=True)
    _add_unknown_type_option(p)
    p.set_defaults(handler=model_commands.cmd_evaluate)


def _add_recalibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recalibrate", help="refit each organ's intercept and slope on a "
                                           "labelled cohort; register it under its own alias")
    p.add_argument("study", type=Path, metavar="STUDY", help="study folder or .tar.gz")
    _add_model_option(p)
    p.add_argument("--alias", default="local", help="registry alias of the recalibrated "
                                                    "version (default local; never champion)")
    p.add_argument("--name", default="organotropism",
                   help="registered model name when --model is a bundle folder")
    p.add_argument("--bundle", type=Path, help="save a bundle folder here instead of "
                                               "registering")
    _add_cohort_options(p, labels=True)
    p.set_defaults(handler=model_commands.cmd_recalibrate)


def _add_score(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score every sample of a cohort into a Parquet/CSV file")
    p.add_argument("cohort", metavar="COHORT", help="cBioPortal study folder or .tar.gz "
                                                   "(embedded:msk_met: the embedded cohort)")
    _add_model_option(p)
    p.add_argument("--out", type=Path, required=True,
                   help="output file: .parquet, .csv, .csv.gz, .tsv or .tsv.gz")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out if it exists (default: refuse)")
    p.add_argument("--explain", type=_number(int, 0), default=0, metavar="K",
                   help="add the top K drivers per organ with their mechanism ids")
    p.add_argument("--long", action="store_true",
                   help="tidy rows (one per sample, organ and driver rank) instead of one "
                        "wide row per sample")
    p.add_argument("--chunk-size", type=_number(int, 1), default=None,
                   help="samples per chunk (bounds memory; default 10,000, or 50,000 with "
                        "--explain)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: this process; spark: mlflow.pyfunc.spark_udf on a Spark "
                        "session (pip install 'organo-predict[spark]')")
    p.add_argument("--spark-master", default="local[*]",
                   help="Spark master URL for --engine spark (default local[*])")
    _add_cohort_options(p)
    _add_unknown_type_option(p)
    p.set_defaults(handler=commands.cmd_score)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the model over HTTP, with a web page at /")
    _add_model_option(p)
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=_number(int, 1, 65535), default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=_number(int, 1, 64), default=1,
                   help="worker processes, each loading the model once (default 1)")
    p.add_argument("--no-access-log", action="store_true",
                   help="no per-request access log lines (they never carry patient data)")
    p.set_defaults(handler=commands.cmd_serve)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 on success, 2 on a reported error, 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    if args.threads is not None:
        from ._base._threads import usable_cores

        cores = usable_cores()
        if args.threads > cores:  # more threads than cores only contend (or crash numba)
            say(f"--threads {args.threads}: capped at {cores}, the cores this process may use",
                "dim")
        # read by _threads.usable_cores, and by numba when it starts (after this line)
        os.environ["OMP_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = str(
            min(args.threads, cores))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return handler(args)
    except OrganoPredictError as exc:
        say(f"error: {exc.render(CLI_NAMES)}", "bold red")  # arguments named as flags
        return 2
    except KeyboardInterrupt:
        say("interrupted", "bold red")
        return 130


if __name__ == "__main__":
    sys.exit(main())
