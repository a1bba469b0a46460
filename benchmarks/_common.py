"""Shared set-up of the benchmarks: the cohort and a model trained as the default experiment.

A benchmark takes `--model URI` to time a registered model; without it, it trains the default
experiment's final model (`organo_predict.train_model`: same population, leakage audit
and input policies, no CV).
"""

from __future__ import annotations

import argparse
import time
import warnings

import organo_predict as op


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--model", help="model URI or bundle folder (default: train one now)")
    return p


def repeats(doc: str | None, default: int) -> int:
    """`--repeat N` of a benchmark that times the cohort or its features alone (no model);
    our own warnings about the embedded cohort's gene symbols are not printed."""
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--repeat", type=int, default=default)
    warnings.simplefilter("ignore", op.UnknownGeneWarning)
    return p.parse_args().repeat


def cohort() -> op.Cohort:
    warnings.simplefilter("ignore", op.UnknownGeneWarning)
    return op.datasets.msk_met()


def model(uri: str | None) -> op.LoadedModel:
    if uri:
        return op.load_model(uri)
    start = time.perf_counter()
    loaded = op.train_model(op.load_config(None), log=lambda _: None)
    print(f"(trained the default experiment's model in {time.perf_counter() - start:.1f} s)")
    return loaded
