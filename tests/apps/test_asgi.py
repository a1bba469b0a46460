"""The endpoint's HTTP plumbing, on a bare Starlette app: limits, HEAD, batching, JSON."""

from __future__ import annotations

import asyncio
import math

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from organo_predict._apps import _asgi as _asgi
from organo_predict._apps._asgi import AccessLog, BodyGuard, HeadAsGet, MicroBatcher, json_response


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/thing")
    async def thing() -> dict[str, str]:
        return {"x": "y"}

    @app.post("/echo")
    async def echo(body: dict) -> dict:
        return body

    app.add_middleware(BodyGuard, limit=100)
    app.add_middleware(HeadAsGet)
    return app


def test_body_limit_and_head() -> None:
    client = TestClient(_app())
    assert client.post("/echo", json={"a": 1}).json() == {"a": 1}
    assert client.post("/echo", json={"a": "z" * 200}).status_code == 413
    head = client.head("/thing")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == client.get("/thing").headers["content-length"]


def test_micro_batcher_computes_a_burst_in_one_call_and_trims_each_answer() -> None:
    calls: list[int] = []

    def compute(items: list[int], k: int) -> list[dict]:
        calls.append(len(items))
        return [{"item": i, "k": k} for i in items]

    batcher = MicroBatcher(compute, lambda answer, k: {**answer, "k": k})

    async def burst() -> list[list[dict]]:
        return await asyncio.gather(*(batcher.submit([i], k) for i, k in ((1, 3), (2, 1))))

    answers = asyncio.run(burst())
    assert calls == [2]
    assert answers == [[{"item": 1, "k": 3}], [{"item": 2, "k": 1}]]


def test_json_response_is_compact_and_refuses_nan() -> None:
    assert json_response({"a": [1, 2]}).body == b'{"a":[1,2]}'
    with pytest.raises(ValueError):
        json_response({"a": math.nan})


@pytest.mark.parametrize(("body", "status", "detail"), [
    (b'{"a": 1, "a": 2}', 400, "the key 'a' appears twice in one object"),
    (b'{"a": {"b": [1, {"c": 1, "c": 1}]}}', 400, "the key 'c' appears twice"),
    (b'{"a": NaN}', 400, "NaN is not a JSON number"),
    (b'{"a": -Infinity}', 400, "-Infinity is not a JSON number"),
])
def test_bodies_must_be_strict_json(body: bytes, status: int, detail: str) -> None:
    response = TestClient(_app()).post("/echo", content=body,
                                       headers={"content-type": "application/json"})
    assert response.status_code == status and detail in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_by_its_content_type_is_a_415(content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = TestClient(_app()).post("/echo", content=b'{"a": 1}', headers=headers)
    assert response.status_code == 415
    assert response.json() == {"detail": "the body must be JSON (Content-Type: application/json)"}
    ok = TestClient(_app()).post("/echo", content=b'{"a": 1}',
                                 headers={"content-type": "application/json; charset=utf-8"})
    assert ok.json() == {"a": 1}


def test_a_body_sent_too_slowly_is_a_408() -> None:
    sent: list[dict] = []

    async def slow_receive() -> dict:
        await asyncio.sleep(10)
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    async def never_called(scope, receive, send) -> None:
        raise AssertionError("the app must not see the request")

    guard = BodyGuard(never_called, limit=100, read_timeout=0.1)
    scope = {"type": "http", "method": "POST",
             "headers": [(b"content-type", b"application/json")]}
    asyncio.run(guard(scope, slow_receive, send))
    assert sent[0]["status"] == 408


def test_the_event_loop_answers_while_a_batch_is_computed() -> None:
    import time

    def slow(items: list[int], k: int) -> list[dict]:
        time.sleep(0.5)
        return [{"item": i} for i in items]

    batcher = MicroBatcher(slow, lambda answer, k: answer)

    async def both() -> list[float]:
        started = time.perf_counter()
        scoring = asyncio.ensure_future(batcher.submit([1], 1))
        await asyncio.sleep(0.05)  # the batch is in its thread now
        health = time.perf_counter() - started  # a /health handler would run here
        await scoring
        return [health, time.perf_counter() - started]

    health, done = asyncio.run(both())
    assert health < 0.3 and done >= 0.5


def test_the_access_log_writes_no_path_that_no_route_matched(caplog) -> None:
    app = _app()
    app.add_middleware(AccessLog)
    client = TestClient(app)
    with caplog.at_level("INFO", logger="organo_predict.access"):
        client.get("/patients/P-CANARY-0000004")
        client.get("/thing")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("GET (no such route) 404")
    assert lines[1].startswith("GET /thing 200")
    assert "CANARY" not in " ".join(lines)


def test_the_server_caps_connections_and_closes_those_that_send_no_headers(monkeypatch) -> None:
    import socket
    import threading
    import time

    import uvicorn

    monkeypatch.setattr(_asgi, "MAX_CONNECTIONS", 4)
    monkeypatch.setattr(_asgi, "HEADER_TIMEOUT", 2.0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(_app(), host="127.0.0.1", port=port,
                                           http=_asgi.guarded_http_protocol(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
        time.sleep(0.3)
        closed = []
        for conn in idle:
            conn.settimeout(0.1)
            try:
                closed.append(conn.recv(1) == b"")
            except TimeoutError:
                closed.append(False)
        assert closed == [False] * 4 + [True] * 2  # past the cap: closed at once
        started = time.monotonic()
        for conn in idle[:4]:  # no headers within the deadline: closed then
            conn.settimeout(5)
            assert conn.recv(1) == b""
        assert time.monotonic() - started < 4  # open at first (above), closed by the deadline
        for conn in idle:
            conn.close()
        with socket.create_connection(("127.0.0.1", port)) as conn:  # a real client is served
            conn.sendall(b"GET /thing HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
