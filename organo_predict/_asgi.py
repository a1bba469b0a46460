"""The HTTP plumbing of the endpoint, apart from what it answers: request-size limit, HEAD as
GET, an access log without queries or addresses, unknown query parameters refused, adaptive
micro-batching of concurrent requests, and compact JSON responses."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "BodyLimit", "HeadAsGet", "MicroBatcher", "json_response",
           "refuse_unknown_query"]

access_log = logging.getLogger("organo_predict.access")

MICRO_BATCH_ROWS = 256
GATHER_TURNS = 3  # event-loop turns a batch waits for requests already received to join


class AccessLog:
    """One line per request: method, path (never the query string), status, milliseconds.
    No client address: uvicorn's own access log, which has both, is switched off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status,
                            (time.perf_counter() - started) * 1000)


class HeadAsGet:
    """HEAD answered wherever GET is: the GET response's status and headers, no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


async def refuse_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not declare (a typo must not be ignored)."""
    route = request.scope.get("route")
    declared = ({q.alias for q in route.dependant.query_params}
                if isinstance(route, APIRoute) else set())
    unknown = [name for name in request.query_params if name not in declared]
    if unknown:
        raise RequestValidationError([{
            "loc": ("query", name), "type": "extra_forbidden",
            "msg": "unknown query parameter" + (f"; this route takes {', '.join(sorted(declared))}"
                                                if declared else "; this route takes none")}
            for name in unknown])


class BodyLimit:
    """413 for a body over `limit` bytes, declared or streamed, before the app parses it.

    The body is read here (up to the limit) and replayed to the app: a chunked upload
    without Content-Length cannot get past the limit either."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body larger than {limit} bytes"}, status_code=413)


Item = TypeVar("Item")  # what a request asks about: a patient profile


class MicroBatcher(Generic[Item]):
    """Queue items from concurrent requests; compute each queue-full in one call."""

    def __init__(self, compute: Callable[[list[Item], int], list[dict]],
                 trim: Callable[[dict, int], dict]) -> None:
        """`compute(items, k)` answers a batch at the largest `k` any request asked for;
        `trim(answer, k)` cuts one answer down to what its own request asked for."""
        self._compute, self._trim = compute, trim
        self._queue: list[tuple[list[Item], int, asyncio.Future]] = []
        self._draining: asyncio.Task | None = None

    async def submit(self, profiles: list[Item], top_k: int) -> list[dict]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._queue.append((profiles, top_k, future))
        if self._draining is None or self._draining.done():
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            for _ in range(GATHER_TURNS):  # answers go out; requests already read join
                await asyncio.sleep(0)
            batch, rows = [], 0
            while self._queue and (not batch or rows + len(self._queue[0][0])
                                   <= MICRO_BATCH_ROWS):
                entry = self._queue.pop(0)
                batch.append(entry)
                rows += len(entry[0])
            profiles = [p for entry in batch for p in entry[0]]
            top_k = max(entry[1] for entry in batch)
            try:
                results = self._compute(profiles, top_k)
            except Exception as exc:  # delivered to each waiting request, answered as a 500
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for entry_profiles, k, future in batch:
                part = results[start:start + len(entry_profiles)]
                start += len(entry_profiles)
                if not future.done():
                    future.set_result([self._trim(r, k) for r in part] if k < top_k else part)


def json_response(content: object, status: int = 200) -> Response:
    """Compact JSON; a NaN or infinity anywhere fails (allow_nan=False) and answers 500."""
    return Response(json.dumps(content, allow_nan=False, separators=(",", ":"),
                               default=_unserialisable),
                    status_code=status, media_type="application/json")


def _unserialisable(value: object) -> object:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
