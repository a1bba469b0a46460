"""The models-from-code pyfunc: a bundle artifact in, calibrated `p_<ORGAN>` columns out."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from organo_predict import save_bundle
from organo_predict._knowledge._feature_names import categories_to_strings
from organo_predict._model._mlflow_model import OrganotropismPyfunc


def test_the_pyfunc_predicts_what_the_model_predicts_from_string_categories(
        liver_lung_bone, tmp_path: Path) -> None:
    builder, model, x = liver_lung_bone
    bundle = save_bundle(builder, model, tmp_path / "bundle")
    pyfunc = OrganotropismPyfunc()
    pyfunc.load_context(SimpleNamespace(artifacts={"bundle": str(bundle)}))
    rows = x.iloc[:50]
    served = categories_to_strings(rows, builder)  # what a client sends: strings, not codes
    assert served["cancer_type"].map(type).eq(str).any()
    out = pyfunc.predict(None, served)
    assert list(out.columns) == [f"p_{o}" for o in model.organs_]
    np.testing.assert_allclose(out.to_numpy(), model.predict_proba(rows).to_numpy(),
                               rtol=0, atol=1e-12)
