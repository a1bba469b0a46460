"""The Spark scoring engine: probabilities computed by `mlflow.pyfunc.spark_udf` on a Spark
session, plugged into `score_cohort` so chunking, atomic output and the summary are shared.

The cohort is read and its features built on the driver, chunk by chunk (the cBioPortal
files live there); each chunk's feature rows go to the executors as a Spark DataFrame, are
scored by the registered pyfunc there (the same code and bundle the registry serves) and
come back in order. For a real cluster pass `--spark-master spark://HOST:7077` (or `yarn`,
`k8s://...`) and a model URI the executors can resolve (a shared tracking server or
registry); the package must be installed in the executors' Python.
"""

from __future__ import annotations

import os
import sys

import pandas as pd

from .._base._errors import ModelError, braced
from .._features._builder import FeatureBuilder
from .._knowledge._feature_names import categories_to_strings
from .._model._loading import is_mlflow_uri

__all__ = ["SparkScorer"]

_ROW = "__organo_row"


class SparkScorer:
    """A `ChunkScorer` backed by `mlflow.pyfunc.spark_udf`.

    Parameters:
        model_uri: an MLflow model URI (models:/NAME@ALIAS, models:/NAME/VERSION, runs:/...).
        builder: the model's fitted feature builder (features are built on the driver).
        organs: the model's organs, in output order.
        master: Spark master URL (default local[*], every local core).
        output: the model's probability columns (`probability_column_names`; default
            `p_<ORGAN>` alone).
    """

    def __init__(self, model_uri: str, builder: FeatureBuilder, organs: list[str],
                 master: str = "local[*]", output: list[str] | None = None) -> None:
        if not is_mlflow_uri(model_uri):
            raise ModelError.about(
                "{spark} needs an MLflow model URI (models:/NAME@ALIAS, runs:/RUN/model), not "
                + braced(repr(model_uri))
                + ": executors load the model through MLflow")
        try:
            import mlflow
            from pyspark.sql import SparkSession
            from pyspark.sql.types import DoubleType, StructField, StructType
        except ImportError as exc:
            raise ModelError.about("{spark} needs pyspark: pip install "
                                   "'organo-predict[spark]' (and Java 17+)") from exc
        self.builder, self.organs, self.master = builder, list(organs), master
        # our own progress bar is the one the user sees: no per-file or per-stage bars
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if master.startswith("local"):
            # local executors run this interpreter (its pandas, LightGBM and this package),
            # not whichever `python3` comes first on PATH (an unactivated venv); PySpark
            # reads the variable when the session starts
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        self.spark = (SparkSession.builder.master(master).appName("organo-predict score")
                      .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                      .config("spark.ui.enabled", "false")
                      .config("spark.ui.showConsoleProgress", "false")
                      .getOrCreate())
        self.spark.sparkContext.setLogLevel("ERROR")
        self.output = list(output or [f"p_{organ}" for organ in self.organs])
        schema = StructType([StructField(name, DoubleType()) for name in self.output])
        try:
            self.udf = mlflow.pyfunc.spark_udf(self.spark, model_uri, result_type=schema,
                                               env_manager="local")
        except Exception as exc:  # MLflow raises many types; one clear message
            raise ModelError(f"cannot load model {model_uri!r} into Spark: "
                             f"{str(exc).splitlines()[0]}") from None

    def __call__(self, features: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
        from pyspark.sql import functions as F

        out = ids.reset_index(drop=True).copy()
        if len(features) == 0:
            return pd.concat([out, pd.DataFrame({c: pd.Series(dtype=float)
                                                 for c in self.output})], axis=1)
        frame = categories_to_strings(features, self.builder).reset_index(drop=True)
        frame.insert(0, _ROW, range(len(frame)))
        columns = [F.col(f"`{c}`") for c in frame.columns[1:]]
        scored = (self.spark.createDataFrame(frame)
                  .select(_ROW, self.udf(F.struct(*columns)).alias("p"))
                  .select(_ROW, "p.*")
                  .toPandas()
                  .sort_values(_ROW))
        if len(scored) != len(frame):
            raise ModelError(f"Spark returned {len(scored)} rows for {len(frame)} samples")
        return pd.concat([out, scored[self.output].reset_index(drop=True)], axis=1)

    def stop(self) -> None:
        """Stop the Spark session this scorer started."""
        self.spark.stop()
