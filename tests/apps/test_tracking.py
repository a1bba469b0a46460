"""MLflow tracking: the champion rule, and a model logged from code that MLflow serves back."""

from __future__ import annotations

from types import SimpleNamespace

from organo_predict._apps._config import shipped_leakage_policy
from organo_predict._apps._tracking import optional_signature, promote


class _Registry:
    """The three MLflow client calls `promote` makes, over a champion of given metric/tags."""

    def __init__(self, metric: float | None, policy: str | None) -> None:
        self.champion = None if metric is None else "1"
        tags = {} if policy is None else {"leakage_policy": policy}
        self.run = SimpleNamespace(data=SimpleNamespace(
            metrics={"m": metric}, tags=tags))

    def get_model_version_by_alias(self, name: str, alias: str):
        if self.champion is None:
            raise LookupError(alias)
        return SimpleNamespace(run_id="r1", version=self.champion)

    def get_run(self, run_id: str):
        return self.run

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.champion = version


def test_champion_is_compared_only_under_the_same_leakage_policy() -> None:
    shipped = shipped_leakage_policy()
    assert shipped.endswith("/unprofiled=absent")
    learned = shipped.replace("absent", "learned")
    cases = [  # champion metric, champion policy, new metric, new policy -> promoted
        (None, None, 0.50, shipped, True),
        (0.60, shipped, 0.59, shipped, False),
        (0.60, shipped, 0.61, shipped, True),
        (0.61, None, 0.59, shipped, True),  # trained before the policy was recorded
        (0.61, "2026.11.1/unprofiled=absent", 0.59, shipped, True),  # an older leakage.toml
        (0.59, shipped, 0.61, learned, False),  # an override never displaces the shipped
        (0.60, learned, 0.61, learned, True),
    ]
    for champion_metric, champion_policy, metric, policy, promoted in cases:
        registry = _Registry(champion_metric, champion_policy)
        said: list[str] = []
        assert promote(registry, "organotropism", "2", metric, "m", policy,
                       said.append) is promoted, (champion_metric, champion_policy, metric,
                                                   policy)
        # a decision taken on the policy rather than the metric is said, with both policies
        assert bool(said) == (champion_metric is not None and champion_policy != policy)
        assert all(policy in line for line in said)
        assert registry.champion == ("2" if promoted else "1" if champion_metric else None)


def test_every_input_of_the_logged_signature_is_optional() -> None:
    """A cohort without TMB, or a panel without a gene, is scored with NaN for what it
    lacks: no input column may be required by the served model's schema."""
    import pandas as pd
    from mlflow.models import infer_signature

    example = pd.DataFrame({"mut_EGFR": [1.0, 0.0], "cancer_type": ["Breast Cancer", "x"]})
    signature = optional_signature(infer_signature(example, pd.DataFrame({"p_LIVER": [0.1,
                                                                                      0.2]})))
    assert [c.name for c in signature.inputs.inputs] == ["mut_EGFR", "cancer_type"]
    assert not any(c.required for c in signature.inputs.inputs)
    assert signature.outputs.input_names() == ["p_LIVER"]


def test_a_run_whose_process_died_is_marked_failed_by_the_next(tmp_path, monkeypatch) -> None:
    # runs killed during MLflow logging stayed RUNNING forever

    import mlflow


    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        _check_dead_runs_marked(tmp_path)
    finally:
        mlflow.set_tracking_uri(previous)


def _check_dead_runs_marked(tmp_path) -> None:
    import socket
    import subprocess
    import sys

    from mlflow import MlflowClient

    from organo_predict._apps._tracking import HOST_TAG, PID_TAG, _run

    client = MlflowClient()
    experiment = client.create_experiment("e", artifact_location=str(tmp_path / "artifacts"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = socket.gethostname()
    killed = client.create_run(experiment, tags={PID_TAG: str(gone.pid), HOST_TAG: here})
    other_host = client.create_run(experiment, tags={PID_TAG: str(gone.pid),
                                                     HOST_TAG: "elsewhere"})
    live = client.create_run(experiment, tags={PID_TAG: str(1), HOST_TAG: here})
    with _run("next", "e") as run:
        pass
    def status(r):
        return client.get_run(r.info.run_id).info.status

    assert status(killed) == "FAILED"
    assert status(other_host) == "RUNNING" and status(live) == "RUNNING"  # not ours to judge
    assert "marked FAILED by a later run" in client.get_run(
        killed.info.run_id).data.tags["organo_predict.ended"]
    new = client.get_run(run.info.run_id)
    assert new.info.status == "FINISHED" and new.data.tags[PID_TAG].isdigit()


def test_the_logged_models_from_code_file_is_the_model_stage_s_pyfunc() -> None:
    """MLflow copies this file beside every logged model: it must be there, and reach the
    package through public names only (a model logged before the stage layout imported
    organo_predict._bundle, and mlflow.pyfunc.load_model of it fails today)."""
    import ast

    import organo_predict
    from organo_predict._apps._tracking import PYFUNC_CODE

    tree = ast.parse(PYFUNC_CODE.read_text())
    assert PYFUNC_CODE.parent.name == "_model"
    assert any(isinstance(n, ast.ClassDef) and n.name == "OrganotropismPyfunc"
               for n in tree.body)
    reached = [(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
               and (n.module or "").startswith("organo_predict") for a in n.names]
    assert reached == [("organo_predict", "load_bundle")]
    assert all(name in organo_predict.__all__ for _, name in reached)
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                  and isinstance(n.value, ast.Attribute) and n.value.attr in ("builder",
                                                                              "model")}
    assert attributes == {"from_named", "probability_table"}
    assert not any(name.startswith("_") for name in attributes)
