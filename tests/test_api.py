"""The public API: every stage a user touches is one import away, and importing is light."""

from __future__ import annotations

import subprocess
import sys

import organo_predict as op


def test_every_public_name_resolves_to_its_owner() -> None:
    from organo_predict import Explainer, FeatureBuilder

    assert [name for name in op.__all__ if not hasattr(op, name)] == []
    assert op.FeatureBuilder is FeatureBuilder and op.Explainer is Explainer
    assert issubclass(op.ProfileError, op.OrganoPredictError)
    assert sorted(dir(op)) == sorted(op.__all__)


def test_importing_the_package_loads_no_model_or_server_library() -> None:
    code = ("import sys, organo_predict; print(sorted(m for m in ('lightgbm', 'mlflow', "
            "'fastapi', 'shap') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
