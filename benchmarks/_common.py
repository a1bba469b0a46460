"""Shared set-up of the benchmarks: the cohort and a model trained as the default experiment.

A benchmark takes `--model URI` to time a registered model; without it, it trains the default
experiment's final model (same features, population and settings, no CV) in ~15 s.
"""

from __future__ import annotations

import argparse
import time
import warnings

import organo_predict as op
from organo_predict._config import load_config
from organo_predict._experiment import population_rows
from organo_predict._features import FeatureBuilder
from organo_predict._loading import LoadedModel, load_model
from organo_predict._models import ORGANS, OrganotropismModel, labels_from_samples


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--model", help="model URI or bundle folder (default: train one now)")
    return p


def cohort() -> op.Cohort:
    warnings.simplefilter("ignore", op.UnknownGeneWarning)
    return op.datasets.msk_met()


def model(uri: str | None, data: op.Cohort) -> LoadedModel:
    if uri:
        return load_model(uri)
    start = time.perf_counter()
    config = load_config(None)
    builder = FeatureBuilder(min_carriers=config.min_carriers)
    features = builder.fit_transform(data)
    labels = labels_from_samples(data.samples)[list(ORGANS)]
    rows = population_rows(data, labels, config.population)
    fitted = OrganotropismModel(organs=list(ORGANS), random_state=config.seed,
                                **config.model).fit(features[rows], labels[rows])
    print(f"(trained the default model in {time.perf_counter() - start:.1f} s)")
    return LoadedModel(builder, fitted, {}, "trained-now")
