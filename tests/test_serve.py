"""The serving endpoint: predictions with drivers, strict validation, no leaks, no 5xx."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from organo_predict._cohort import reference_panels
from organo_predict._explain import Explainer
from organo_predict._loading import LoadedModel
from organo_predict._profiles import PatientProfile, cohort_from_profiles
from organo_predict._serve import create_app

EGFR_LUAD = {"cancer_type": "Non-Small Cell Lung Cancer", "subtype": "LUAD", "sex": "Female",
             "age": 58, "mutations": [{"gene": "EGFR", "protein_change": "L858R"},
                                      {"gene": "TP53", "protein_change": "R273H"}],
             "copy_number": [{"gene": "EGFR", "value": 2}], "fusions": []}


@pytest.fixture(scope="module")
def loaded(luad_model) -> LoadedModel:
    builder, model, _ = luad_model
    return LoadedModel(builder, model, {"cohort": "msk_met_2021",
                                        "citation": "Nguyen et al. Cell 2022"},
                       "test-bundle", {"source": "bundle", "name": "organotropism",
                                       "version": "7", "alias": "champion"})


@pytest.fixture(scope="module")
def app(loaded):
    return create_app(loaded, max_body_bytes=200_000)


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_health_and_metadata(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    meta = client.get("/metadata").json()
    assert meta["model"] == {"name": "organotropism", "version": "7", "alias": "champion",
                             "uri": "test-bundle", "source": "bundle"}
    assert meta["organs"] == ["CNS_BRAIN", "BONE", "LIVER"]
    assert meta["n_features"] > 500 and meta["knowledge_base_version"]
    assert meta["training_cohort"]["citation"] == "Nguyen et al. Cell 2022"
    assert "Non-Small Cell Lung Cancer" in meta["cancer_types"]
    assert "IMPACT468" in meta["gene_panels"]


def test_predict_equals_the_explainer_and_cites_mechanisms(client, loaded) -> None:
    response = client.post("/predict", json=EGFR_LUAD)
    assert response.status_code == 200
    body = response.json()
    explainer = Explainer(loaded.model, loaded.builder)
    x = loaded.builder.transform(cohort_from_profiles([PatientProfile(**EGFR_LUAD)],
                                                      reference_panels()))
    expected = {o.organ: o for o in explainer.explain(x, top_k=3)[0].organs}
    probabilities = [o["probability"] for o in body["organs"]]
    assert probabilities == sorted(probabilities, reverse=True)
    for organ in body["organs"]:
        reference = expected[organ["organ"]]
        assert organ["probability"] == pytest.approx(reference.probability, abs=1e-12)
        assert organ["baseline_rate"] == pytest.approx(reference.baseline_rate, abs=1e-12)
        assert [d["marker"] for d in organ["drivers_up"]] == [
            d.marker for d in reference.drivers_up]
    brain = next(o for o in body["organs"] if o["organ"] == "CNS_BRAIN")
    egfr = next(d for d in brain["drivers_up"] + brain["drivers_down"] if d["marker"] == "EGFR")
    mechanism = next(m for m in egfr["mechanisms"] if m["id"] == "EGFR_LUAD_BRAIN")
    assert mechanism["carrier"] is True and mechanism["citation"]
    assert body["warnings"] == []


def test_top_drivers_and_warnings_for_what_the_model_never_saw(client) -> None:
    body = client.post("/predict?top_drivers=1", json={
        "cancer_type": "Martian Cancer", "mutations": [{"gene": "NOTAGENE1"}]}).json()
    assert all(len(o["drivers_up"]) <= 1 for o in body["organs"])
    assert any("Martian Cancer" in w for w in body["warnings"])
    assert any("NOTAGENE1" in w for w in body["warnings"])
    assert all(0 < o["probability"] < 1 for o in body["organs"])


def test_batch_matches_single_requests(client) -> None:
    patients = [EGFR_LUAD, {"cancer_type": "Breast Cancer", "subtype": "IDC HR+HER2-",
                            "hr_status": "Positive"}, {"cancer_type": "Colorectal Cancer"}]
    batch = client.post("/predict/batch", json={"patients": patients}).json()["results"]
    for patient, result in zip(patients, batch, strict=True):
        assert result == client.post("/predict", json=patient).json()


def test_concurrent_requests_are_micro_batched_without_mixing_patients(app, client) -> None:
    patients = [{**EGFR_LUAD, "age": float(age)} for age in range(30, 70, 2)]
    singles = [client.post("/predict", json=p).json() for p in patients]

    async def burst() -> list[dict]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            responses = await asyncio.gather(*(http.post("/predict", json=p) for p in patients))
        return [r.json() for r in responses]

    calls: list[int] = []
    predictor = app.state.predictor
    score = predictor.predict

    def counted(profiles: list, top_k: int = 3) -> list[dict]:
        calls.append(len(profiles))
        return score(profiles, top_k)

    predictor.predict = counted
    try:
        assert asyncio.run(burst()) == singles
    finally:
        del predictor.predict
    assert sum(calls) == len(patients) and len(calls) < len(patients)  # batched


@pytest.mark.parametrize(("body", "field"), [
    ({"cancer_type": "X", "patient_id": "P-0000001"}, ["body", "patient_id"]),
    ({"cancer_type": "X", "age": 400}, ["body", "age"]),
    ({"cancer_type": "X", "copy_number": [{"gene": "MET", "value": 9}]},
     ["body", "copy_number", 0, "value"]),
    ({"cancer_type": "X", "gene_panel": "NO_SUCH_PANEL"}, ["body", "gene_panel"]),
    ({"subtype": "LUAD"}, ["body", "cancer_type"]),
])
def test_bad_input_is_a_422_naming_the_field(client, body: dict, field: list) -> None:
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    assert field in [d["loc"] for d in response.json()["detail"]]


def test_batch_limits_and_field_locations(client) -> None:
    too_many = client.post("/predict/batch", json={"patients": [{"cancer_type": "X"}] * 1001})
    assert too_many.status_code in (413, 422)
    bad = client.post("/predict/batch", json={"patients": [
        {"cancer_type": "X"}, {"cancer_type": "X", "gene_panel": "NOPE"}]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "patients", 1, "gene_panel"]


def test_oversized_bodies_get_413(client) -> None:
    big = json.dumps({"cancer_type": "X", "panel_genes": ["GENE"] * 40_000})
    assert client.post("/predict", content=big,
                       headers={"content-type": "application/json"}).status_code == 413

    def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(50):
            yield b" " * 10_000

    assert client.post("/predict", content=chunks(),
                       headers={"content-type": "application/json"}).status_code == 413


def test_errors_carry_no_stack_trace_and_logs_no_patient_data(loaded, monkeypatch,
                                                             caplog) -> None:
    caplog.set_level(logging.DEBUG)
    failing = create_app(loaded, warm_up=False)

    def explode(profiles, top_k=3):
        raise RuntimeError("boom in /secret/path.py line 3")

    monkeypatch.setattr(failing.state.predictor, "predict", explode)
    marker = {**EGFR_LUAD, "subtype": "SUBTYPE-CANARY-7731"}
    with TestClient(failing, raise_server_exceptions=False) as broken:
        response = broken.post("/predict", json=marker)
        assert response.status_code == 500
        assert response.json() == {"detail": "internal error"}
        assert "Traceback" not in response.text and "secret" not in response.text
        assert broken.post("/predict", json={**marker, "age": 999}).status_code == 422
    assert "RuntimeError" in caplog.text  # the operator learns what failed ...
    assert "CANARY" not in caplog.text and "L858R" not in caplog.text  # ... not about whom


def test_page_and_openapi_are_served(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "organo-predict" in page.text
    assert "<script src=" not in page.text  # self-contained: works offline
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/predict/batch", "/health", "/metadata"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200
    examples = client.get("/examples").json()
    assert len(examples) >= 4
    for example in examples:
        assert client.post("/predict", json=example["profile"]).status_code == 200


def test_schemathesis_finds_no_server_error(app) -> None:
    """Property-based requests generated from the app's own OpenAPI schema (valid and
    invalid bodies, queries and headers) never get a 5xx."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/predict/batch", "/health",
                                              "/metadata"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()


def test_serve_refuses_a_tampered_model_before_listening(loaded, tmp_path, capsys) -> None:
    from organo_predict._bundle import save_bundle
    from organo_predict.cli import main

    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    booster = next((bundle / "boosters").glob("*.txt"))
    booster.write_text(booster.read_text().replace("leaf_value=", "leaf_value=1", 1))
    code = main(["serve", "--model", str(bundle), "--port", "1"])
    assert code == 2
    assert "checksum mismatch" in capsys.readouterr().err
