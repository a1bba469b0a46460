"""The Spark engine scores through mlflow.pyfunc.spark_udf in local mode and agrees with the
local engine. pyspark comes with the dev install; Spark needs Java 17+ (on the CI machine;
skipped elsewhere unless ORGANO_PREDICT_STRICT_TESTS=1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from organo_predict import FeatureBuilder, LoadedModel, ModelError, score_cohort
from organo_predict.cli import main

ORGANS = ["LIVER", "LUNG", "BONE"]

pytestmark = pytest.mark.slow  # a Spark JVM: CI runs it, `-m "not slow"` skips it


@pytest.fixture(scope="module")
def logged(liver_lung_bone, tmp_path_factory):
    """A small model logged as the project's pyfunc in a throw-away tracking store."""
    import mlflow

    from organo_predict._apps._tracking import log_model

    builder, model, features = liver_lung_bone
    store = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{store}/mlflow.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        mlflow.set_experiment("spark-test")
        with mlflow.start_run():
            info = log_model(builder, model, features.iloc[:5],
                             metadata={"cohort": "msk_met_2021"})
    finally:
        mlflow.set_tracking_uri(previous)
    return LoadedModel(builder, model, {}, info.model_uri), uri


def test_spark_scores_agree_with_local_scores(logged, msk_features, tmp_path) -> None:
    import mlflow

    from organo_predict._apps._spark import SparkScorer

    from ..conftest import require_program

    require_program("java", "Spark needs Java 17+: apt-get install openjdk-17-jre-headless")
    loaded, tracking = logged
    cohort = msk_features[0]
    small = cohort.subset(cohort.samples.index[::60])
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking)
    try:
        scorer = SparkScorer(loaded.uri, loaded.builder, ORGANS, master="local[2]")
    finally:
        mlflow.set_tracking_uri(previous)
    try:
        spark = score_cohort(small, loaded, tmp_path / "spark.parquet", chunk_size=150,
                             scorer=scorer)
        empty = scorer(loaded.builder.transform(small.subset([])),
                       pd.DataFrame({"SAMPLE_ID": [], "PATIENT_ID": [], "CANCER_TYPE": []}))
    finally:
        scorer.stop()
    local = score_cohort(small, loaded, tmp_path / "local.parquet", chunk_size=150)
    a = pd.read_parquet(tmp_path / "spark.parquet")
    b = pd.read_parquet(tmp_path / "local.parquet")
    assert a.columns.tolist() == b.columns.tolist()
    assert a["SAMPLE_ID"].tolist() == b["SAMPLE_ID"].tolist() == small.samples.index.tolist()
    columns = [f"p_{o}" for o in ORGANS]
    np.testing.assert_allclose(a[columns].to_numpy(), b[columns].to_numpy(), rtol=0,
                               atol=1e-6)
    assert spark.n_chunks == local.n_chunks and spark.expected_share == pytest.approx(
        local.expected_share, abs=1e-6)
    assert len(empty) == 0 and empty.columns.tolist()[-3:] == columns


def test_spark_engine_refuses_what_it_cannot_do(tmp_path, capsys) -> None:
    from organo_predict._apps._spark import SparkScorer

    with pytest.raises(ModelError, match="needs an MLflow model URI"):
        SparkScorer(str(tmp_path), FeatureBuilder(), ORGANS)
    code = main(["score", "embedded:msk_met", "--out", str(tmp_path / "x.parquet"),
                 "--engine", "spark", "--explain", "3"])
    assert code == 2 and "local engine only" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()
