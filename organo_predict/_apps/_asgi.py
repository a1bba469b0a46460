"""The HTTP plumbing of the endpoint, apart from what it answers: request-size limit, HEAD as
GET, an access log without queries or addresses, unknown query parameters refused, adaptive
micro-batching of concurrent requests, and compact JSON responses."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._base._errors import excerpt

__all__ = ["AccessLog", "BodyGuard", "HeadAsGet", "MicroBatcher", "json_response",
           "refuse_unknown_query"]

access_log = logging.getLogger("organo_predict.access")

MICRO_BATCH_ROWS = 256
BODY_READ_TIMEOUT = 30.0  # seconds a client has to send its whole body
GATHER_TURNS = 3  # event-loop turns a batch waits for requests already received to join


class AccessLog:
    """One line per request: method, the route's path (never the query string, nor a path
    no route matched), status, milliseconds. No client address: uvicorn's own access log,
    which has both, is switched off."""

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
        finally:  # a path no route matched may hold anything (a patient id): not written
            route = scope.get("route")
            path = getattr(route, "path", None) or "(no such route)"
            access_log.info("%s %s %d %.1f ms", scope["method"], path, status,
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


class BodyGuard:
    """What a body must be before the app parses it: JSON by its content type (415),
    at most `limit` bytes, declared or streamed (413), received within `read_timeout`
    seconds (408), and strict JSON (400): no repeated key (the last would silently win),
    no NaN or Infinity (not JSON, though Python's parser takes them).

    The body is read here and replayed to the app: a chunked upload without
    Content-Length cannot get past the limit either."""

    def __init__(self, app: ASGIApp, limit: int, read_timeout: float = BODY_READ_TIMEOUT
                 ) -> None:
        self.app, self.limit, self.read_timeout = app, limit, read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media != b"application/json" and not media.endswith(b"+json"):
            await _refusal(415, "the body must be JSON (Content-Type: application/json)"
                           )(scope, receive, send)
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.read_timeout)
        except TimeoutError:
            await _refusal(408, f"the body was not received within {self.read_timeout:g} s"
                           )(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        if len(body) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        problem = strict_json_problem(body)
        if problem is not None:
            await _refusal(400, problem)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            if size > self.limit or not message.get("more_body", False):
                return b"".join(chunks)


class _NotStrictJson(ValueError):
    pass


def _no_repeated_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _NotStrictJson(f"the key {excerpt(key)} appears twice in one object; send "
                                 "it once")
        out[key] = value
    return out


def _no_constant(name: str) -> object:
    raise _NotStrictJson(f"{name} is not a JSON number; send null for a value not measured")


def strict_json_problem(body: bytes) -> str | None:
    """Why `body` is not strict JSON, or None. Malformed JSON is left to the app (its
    400); this catches what Python's parser accepts and JSON does not mean."""
    try:
        json.loads(body, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constant)
    except _NotStrictJson as exc:
        return str(exc)
    except ValueError:  # malformed: the app's own 400
        return None
    return None


def _refusal(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


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
        # one thread: batches stay in order and the model is never used by two at once,
        # while the event loop goes on answering /health and reading requests
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="organo-score")
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
                results = await asyncio.get_running_loop().run_in_executor(
                    self._worker, self._compute, profiles, top_k)
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


MAX_CONNECTIONS = 512  # open connections one server process keeps; more are closed at once
HEADER_TIMEOUT = 10.0  # seconds a connection has to send a request's headers


def guarded_http_protocol() -> type:
    """uvicorn's httptools protocol with what it lacks: a cap on open connections (a new
    one past `MAX_CONNECTIONS` is closed at once) and a deadline for a request's headers
    (a connection that sends none within `HEADER_TIMEOUT` s is closed): 1,500 slow
    connections were all kept open before."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
            super().connection_made(transport)
            if len(self.connections) > MAX_CONNECTIONS:
                transport.close()
                return
            self._header_deadline = self.loop.call_later(HEADER_TIMEOUT, self._too_slow)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._restart_deadline()

        def on_headers_complete(self) -> None:
            self._cancel_deadline()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._cancel_deadline()  # idle from here on: uvicorn's keep-alive timeout

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def _restart_deadline(self) -> None:
            self._cancel_deadline()
            self._header_deadline = self.loop.call_later(HEADER_TIMEOUT, self._too_slow)

        def _cancel_deadline(self) -> None:
            deadline = getattr(self, "_header_deadline", None)
            if deadline is not None:
                deadline.cancel()
                self._header_deadline = None

        def _too_slow(self) -> None:
            self._header_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttpToolsProtocol
