"""The endpoint's HTTP plumbing, on a bare Starlette app: limits, HEAD, batching, JSON."""

from __future__ import annotations

import asyncio
import math

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from organo_predict._asgi import BodyLimit, HeadAsGet, MicroBatcher, json_response


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/thing")
    async def thing() -> dict[str, str]:
        return {"x": "y"}

    @app.post("/echo")
    async def echo(body: dict) -> dict:
        return body

    app.add_middleware(BodyLimit, limit=100)
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
