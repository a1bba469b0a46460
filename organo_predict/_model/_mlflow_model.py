"""MLflow models-from-code entry point: the pyfunc loads a pickle-free bundle artifact.
MLflow copies this file beside every logged model, so it uses public names only: a model
logged today still loads after the package's private modules move.

Input: one row per sample, the feature columns of the bundle with `cancer_type`,
`subtype` and `primary_site` as strings. Output: calibrated `p_<ORGAN>` columns.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class OrganotropismPyfunc(PythonModel):
    """Organ-of-metastasis probabilities from tumor features."""

    def load_context(self, context) -> None:
        from organo_predict import load_bundle

        self.builder, self.model, self.metadata = load_bundle(context.artifacts["bundle"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        features = self.builder.from_named(pd.DataFrame(model_input))
        return self.model.probability_table(features).reset_index(drop=True)


mlflow.models.set_model(OrganotropismPyfunc())
