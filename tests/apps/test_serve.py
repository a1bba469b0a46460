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
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from organo_predict import Explainer, LoadedModel, PatientProfile, create_app
from organo_predict._cohort._study import reference_panels
from organo_predict._features._profiles import cohort_from_profiles

# no 5xx, and every answer is one the schema declares: status, content type, headers, body
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]

REPLICATED = "replicated in msk_met_2021: OR 2.00 [1.50, 2.60]"
EGFR_LUAD = {"cancer_type": "Non-Small Cell Lung Cancer", "subtype": "LUAD", "sex": "Female",
             "age": 58, "mutations": [{"gene": "EGFR", "protein_change": "L858R"},
                                      {"gene": "TP53", "protein_change": "R273H"}],
             "copy_number": [{"gene": "EGFR", "value": 2}], "fusions": []}


@pytest.fixture(scope="module")
def loaded(with_intervals) -> LoadedModel:
    builder, model, _ = with_intervals  # every answer carries each probability's interval
    return LoadedModel(builder, model, {"cohort": "msk_met_2021",
                                        "citation": "Nguyen et al. Cell 2022",
                                        "mechanism_replication": {
                                            "EGFR_LUAD_BRAIN": REPLICATED}},
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
    assert meta["skill"] == {}  # a model saved without its run's skill says nothing


def test_predict_equals_the_explainer_and_cites_mechanisms(client, loaded) -> None:
    response = client.post("/predict", json=EGFR_LUAD)
    assert response.status_code == 200
    body = response.json()
    explainer = Explainer(loaded.builder, loaded.model)
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
        # the calibrated range of the registered model, the explainer's to the digit
        assert organ["interval"] == pytest.approx(
            {"low": reference.interval[0], "high": reference.interval[1]}, abs=1e-12)
        assert 0 <= organ["interval"]["low"] <= organ["interval"]["high"] <= 1
    brain = next(o for o in body["organs"] if o["organ"] == "CNS_BRAIN")
    egfr = next(d for d in brain["drivers_up"] + brain["drivers_down"] if d["marker"] == "EGFR")
    mechanism = next(m for m in egfr["mechanisms"] if m["id"] == "EGFR_LUAD_BRAIN")
    assert mechanism["carrier"] is True and mechanism["citation"]
    assert mechanism["replication"] == REPLICATED  # from the model's training run
    assert body["warnings"] == []


def test_top_drivers_and_warnings_for_what_the_model_never_saw(client) -> None:
    body = client.post("/predict?top_drivers=1", json={
        "cancer_type": "Martian Cancer", "unknown_cancer_type": "pooled",
        "mutations": [{"gene": "NOTAGENE1"}]}).json()
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


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(app) -> None:
    """Property-based requests generated from the app's own OpenAPI schema (valid and
    invalid bodies, queries and headers) never get a 5xx, and every answer conforms to the
    schema (status code declared, content type, headers, body)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/predict/batch", "/health",
                                              "/metadata"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            case.call_and_validate(checks=CHECKS)

        no_server_error()


def test_serve_refuses_a_tampered_model_before_listening(loaded, tmp_path, capsys) -> None:
    from organo_predict import save_bundle
    from organo_predict.cli import main

    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    booster = next((bundle / "boosters").glob("*.txt"))
    booster.write_text(booster.read_text().replace("leaf_value=", "leaf_value=1", 1))
    code = main(["serve", "--model", str(bundle), "--port", "1"])
    assert code == 2
    assert "checksum mismatch" in capsys.readouterr().err


# --------------------------------------------------------------------------- strictness (#19)


@pytest.mark.parametrize(("change", "field"), [
    ({"age": "58"}, ["body", "age"]),
    ({"tmb": True}, ["body", "tmb"]),
    ({"fga": "0.2"}, ["body", "fga"]),
    ({"copy_number": [{"gene": "EGFR", "value": 2.0}]}, ["body", "copy_number", 0, "value"]),
])
def test_numbers_must_be_json_numbers(client, change: dict, field: list) -> None:
    response = client.post("/predict", json={**EGFR_LUAD, **change})
    assert response.status_code == 422
    assert field in [d["loc"] for d in response.json()["detail"]]


def test_contradictory_copy_number_calls_are_refused_naming_both(client) -> None:
    calls = [{"gene": "EGFR", "value": 2}, {"gene": "MET", "value": 0},
             {"gene": "EGFR", "value": -2}]
    response = client.post("/predict", json={**EGFR_LUAD, "copy_number": calls})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "copy_number"]
    assert "copy_number[0] and copy_number[2]" in detail["msg"] and "EGFR" in detail["msg"]
    same = [{"gene": "EGFR", "value": 2}, {"gene": "EGFR", "value": 2}]  # repeated, agreeing
    assert client.post("/predict", json={**EGFR_LUAD, "copy_number": same}).status_code == 200


def test_head_is_answered_wherever_get_is(client) -> None:
    for path in ("/", "/health", "/metadata", "/examples", "/openapi.json"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/predict").status_code == 405


def test_unknown_query_parameters_are_refused(client) -> None:
    response = client.get("/health", params={"sample_id": "P-0000004-T01-IM3"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "sample_id"]
    typo = client.post("/predict", params={"top_driver": 2}, json=EGFR_LUAD)
    assert typo.status_code == 422 and "top_drivers" in typo.json()["detail"][0]["msg"]
    assert client.post("/predict", params={"top_drivers": 2}, json=EGFR_LUAD).status_code == 200


def test_malformed_json_is_a_400_and_the_schema_declares_it(client) -> None:
    response = client.post("/predict", content=b'{"cancer_type": ',
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json() == {
        "detail": "the body is not valid JSON"}
    schema = client.get("/openapi.json").json()
    for path in ("/predict", "/predict/batch"):
        assert {"400", "413", "422"} <= set(schema["paths"][path]["post"]["responses"])
    panel = schema["components"]["schemas"]["PatientProfile"]["properties"]["gene_panel"]
    enum = next(option["enum"] for option in panel["anyOf"] if "enum" in option)
    assert enum == client.get("/metadata").json()["gene_panels"]


@pytest.mark.slow
def test_access_log_has_no_query_string_nor_client_address(loaded, tmp_path) -> None:
    """A real `organo-predict serve`: the canary sent in a query string never reaches its
    log, nor does the client's address; method, path and status do."""
    import socket
    import subprocess
    import sys
    import time

    from organo_predict import save_bundle

    bundle = save_bundle(loaded.builder, loaded.model, tmp_path / "bundle")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "organo_predict.cli", "serve", "--model", str(bundle),
             "--port", str(port)], stdout=log_file, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{base}/health", timeout=2)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.3)
            canary = "P-CANARY-0000004-T01-IM3"
            assert httpx.get(f"{base}/health", params={"sample_id": canary}).status_code == 422
            assert httpx.post(f"{base}/predict", params={"top_drivers": 1},
                              json=EGFR_LUAD).status_code == 200
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log_path.read_text()
    assert "GET /health 422" in text and "POST /predict 200" in text
    assert "CANARY" not in text and "sample_id" not in text and "top_drivers" not in text
    assert "127.0.0.1:" not in text.replace(f"http://127.0.0.1:{port}", "")


def test_an_omitted_whole_tumor_measurement_reads_as_its_cancer_type_median(client,
                                                                             loaded) -> None:
    """A client that does not send TMB, FGA or aneuploidy gets the answer for a tumor typical
    of its cancer type, not one for a value of 0 that no training tumor was read as."""
    omitted = {k: v for k, v in EGFR_LUAD.items() if k not in ("tmb", "fga", "aneuploidy")}
    model = loaded.model
    code = float(loaded.builder.categories_["cancer_type"].index(EGFR_LUAD["cancer_type"]))
    typical = {**omitted, **{name: model.summary_medians_[name]["by_type"][str(int(code))]
                             for name in ("tmb", "fga", "aneuploidy")}}

    def probabilities(body: dict) -> dict[str, float]:
        answer = client.post("/predict", json=body).json()
        return {o["organ"]: o["probability"] for o in answer["organs"]}

    assert probabilities(omitted) == pytest.approx(probabilities(typical), abs=1e-6)
    drivers = client.post("/predict", json=omitted, params={"top_drivers": 10}).json()
    summaries = [driver for organ in drivers["organs"]
                 for driver in organ["drivers_up"] + organ["drivers_down"]
                 if driver["marker"] in ("tmb", "fga", "aneuploidy")]
    assert summaries  # and each is said to be not measured, not shown as the median
    assert all(d["values"] == {d["marker"]: None} for d in summaries)


def test_answers_are_the_explanations_one_serialisation_and_fit_the_response_models(
        client, loaded) -> None:
    from organo_predict._apps._serve_models import BatchOut, PredictionOut

    answer = client.post("/predict", json=EGFR_LUAD, params={"top_drivers": 2}).json()
    PredictionOut.model_validate(answer, strict=True)
    batch = client.post("/predict/batch", json={"patients": [EGFR_LUAD], "top_drivers": 2})
    BatchOut.model_validate(batch.json(), strict=True)
    cohort = cohort_from_profiles([PatientProfile(**EGFR_LUAD)], reference_panels())
    reference = Explainer.from_loaded(loaded)
    reference.shap_engine.compile()  # as the server's: the same compiled trees, to the last digit
    explained = reference.explain(loaded.builder.transform(cohort), top_k=2)[0]
    by_organ = {o["organ"]: o for o in answer["organs"]}
    for organ in explained.organs:
        assert by_organ[organ.organ] == json.loads(json.dumps(organ.to_dict()))


def test_caches_keyed_by_what_a_request_sends_are_bounded(app, client) -> None:
    # 400 requests with different 25,000-gene panels took the server from 617 MB to
    # 1,688 MB, never freed; the caches now hold a bounded number of entries
    from organo_predict._explain._explainer import APPLICABLE_CACHE_SIZE
    from organo_predict._features._builder import PANEL_CACHE_SIZE

    predictor = app.state.predictor
    for i in range(PANEL_CACHE_SIZE + 20):
        answer = client.post("/predict", json={**EGFR_LUAD, "gene_panel": None,
                                               "panel_genes": ["EGFR", "TP53", f"GENE{i}"]})
        assert answer.status_code == 200
    panel_keys = [k for k in predictor.builder._panel_cache if k[0] == "panel"]
    assert len(panel_keys) == PANEL_CACHE_SIZE
    assert not any(k[0] == "panel" for k in predictor.builder._vocabulary_cache)
    explainer = predictor.explainer
    for i in range(50):
        client.post("/predict", json={**EGFR_LUAD, "cancer_type": f"Type {i}"})
    assert 0 < len(explainer._applicable_cache) <= APPLICABLE_CACHE_SIZE
    assert explainer._applicable_cache.maxsize == APPLICABLE_CACHE_SIZE


def test_serve_on_a_busy_port_fails_before_loading_the_model(tmp_path, capsys) -> None:
    import socket
    import time

    from organo_predict.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        started = time.monotonic()
        rc = main(["serve", "--model", str(tmp_path / "no_such_bundle"), "--port", str(port)])
    assert rc == 2 and time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "no_such_bundle" not in err


@pytest.mark.parametrize(("field", "loc"), [
    ({"age": 123456789012345678901}, ["body", "age"]),
    ({"copy_number": [{"gene": "EGFR", "value": 123456789012345678901}]},
     ["body", "copy_number", 0, "value"]),
])
def test_a_twenty_digit_integer_is_a_422_naming_the_field(client, field, loc) -> None:
    response = client.post("/predict", json={**EGFR_LUAD, **field})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc



def test_a_cancer_type_spelled_differently_is_matched_and_an_unknown_one_refused(client) -> None:
    # "prostate cancer" (lower case) was scored as an unknown type: pooled baselines, no
    # documented mechanism, one warning line as the only sign
    exact = client.post("/predict", json=EGFR_LUAD).json()
    for spelling in ("non-small cell lung cancer", "NSCLC", "LUAD", " Non-Small  Cell Lung Cancer"):
        answer = client.post("/predict", json={**EGFR_LUAD, "cancer_type": spelling}).json()
        assert answer == exact, spelling
    refused = client.post("/predict", json={**EGFR_LUAD, "cancer_type": "Lung Cancr"})
    assert refused.status_code == 422
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", "cancer_type"]
    assert "unknown cancer type 'Lung Cancr'" in detail["msg"]
    assert 'unknown_cancer_type: "pooled"' in detail["msg"]
    batch = client.post("/predict/batch", json={"patients": [EGFR_LUAD, {"cancer_type": "X"}]})
    assert batch.status_code == 422
    assert batch.json()["detail"][0]["loc"] == ["body", "patients", 1, "cancer_type"]
    pooled = client.post("/predict", json={**EGFR_LUAD, "cancer_type": "Lung Cancr",
                                           "unknown_cancer_type": "pooled"}).json()
    assert any("pooled prior" in w for w in pooled["warnings"])


def test_metadata_counts_the_model_s_inputs_not_the_builder_s_columns(loaded) -> None:
    """A feature the leakage audit refused is built but never read by the model: the page's
    "N features" is what the model reads."""
    import copy

    from organo_predict._apps._serve import Predictor

    builder = copy.copy(loaded.builder)  # as after an audit refusal: one column more
    builder.feature_names_ = [*loaded.builder.feature_names_, "trunc_REFUSED"]
    meta = Predictor(LoadedModel(builder, loaded.model, loaded.metadata, loaded.uri)).metadata()
    assert meta["n_features"] == len(loaded.model.feature_names_) == len(
        builder.feature_names_) - 1
