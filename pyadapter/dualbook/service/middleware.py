"""The service's front: the one ASGI layer in front of the routes (plain ASGI, no per-request task or buffering
beyond the body): a request id, authentication, the body size limit, the per-request timeout, one structured JSON
log line and the request metrics per request. It answers the busiest route (``POST /v1/entries``) itself, with the
route's own handler, and hands every other request to the framework."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dualbook.service import metrics
from dualbook.service.auth import Client, authenticate
from dualbook.service.problems import Problem, unavailable

log = logging.getLogger("dualbook.service")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, message and the record's ``fields``."""

    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # one line per request: the formatted second is reused within it
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        out: dict[str, Any] = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    for name in ("dualbook.service", "uvicorn.error", "psycopg"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        # psycopg's pool logs every connection request at info: only its warnings (failed connections) go out
        logger.setLevel("WARNING" if name == "psycopg" and level.lower() in ("debug", "info") else level.upper())
        logger.propagate = False
    logging.Formatter.converter = time.gmtime
    # the lines carry none of the thread, process and process-name attributes: no record looks them up
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


#: a route the middleware answers itself: ``(scope, body) -> (status, headers, body)``, raising
#: :class:`Problem` for an error answer
FastRoute = Callable[[Scope, bytes], Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]]]


class ServiceMiddleware:
    """The service's front: every HTTP request passes here first. ``fast`` maps ``(method, path)`` to the routes it
    answers itself, after the same request id, authentication, body limit and timeout as every other route and
    with the same metrics and log line, without the framework's routing, request objects and parameter
    resolution; everything else goes on to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        timeout: float,
        clients: tuple[Client, ...] | None,
        access_log: bool = True,
        fast: dict[tuple[str, str], FastRoute] | None = None,
    ) -> None:
        self.app = app
        #: the clients allowed under /v1 (None: authentication off)
        self.clients = clients
        self.max_body = max_body
        self.timeout = timeout
        self.access_log = access_log
        self.fast = fast or {}
        self.too_large = Problem(413, "body_too_large", "Request body too large", f"at most {max_body} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode())
        status = 500
        sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                sent = True
                message["headers"] = [*message.get("headers", []), id_header]
            await send(message)

        path = scope["path"]
        fast = self.fast.get((scope["method"], path))
        problem: Problem | None = None
        try:
            if self.clients is not None and path.startswith("/v1/"):
                problem = self._authenticate(scope, headers.get(b"authorization"))
            if problem is None:
                problem = self._too_large(headers.get(b"content-length"))
            if problem is None:
                body, over = await self._read_body(receive)
                if over:
                    problem = self.too_large
                elif fast is not None:
                    async with asyncio.timeout(self.timeout):
                        status, answer, content = await fast(scope, body)
                    answer.append(id_header)
                    sent = True
                    await send({"type": "http.response.start", "status": status, "headers": answer})
                    await send({"type": "http.response.body", "body": content})
                else:
                    async with asyncio.timeout(self.timeout):
                        await self.app(scope, _replay(body, receive), send_with_id)
        except Problem as exc:
            problem = exc
        except TimeoutError:
            problem = unavailable(
                "timeout",
                f"no answer within {self.timeout:g} s; the outcome is unknown: retry with the same Idempotency-Key",
            )
        except Exception:
            log.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            problem = Problem(500, "internal", "Internal error", "the service failed; see its log for the request id")
        if problem is not None and not sent:
            await problem.response(request_id, path)(scope, receive, send_with_id)
        route = path if fast is not None else getattr(scope.get("route"), "path", None) or "unmatched"
        elapsed = time.perf_counter() - started
        metrics.observe_request(scope["method"], route, status, elapsed)
        if self.access_log and route not in ("/healthz", "/metrics") and log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": path,
                "route": route,
                "status": status,
                "ms": round(elapsed * 1000, 3),
                "client": state.get("client"),
            }
            # the record made directly: log.info() would also look up the caller's frame, file and line
            record = log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None, extra={"fields": fields})
            log.handle(record)

    def _too_large(self, length: bytes | None) -> Problem | None:
        """413 before the body is read when its announced length is beyond the limit (or unreadable)."""
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return self.too_large
        return None

    def _authenticate(self, scope: Scope, authorization: bytes | None) -> Problem | None:
        """Under /v1 a known bearer token is required (401 otherwise, before the request is read further); the
        client's name and scopes go into the request's state for the handler's scope check (403)."""
        assert self.clients is not None
        client = authenticate(self.clients, authorization.decode("latin-1") if authorization else None)
        if client is None:
            return Problem(
                401,
                "unauthorized",
                "Unauthorized",
                "a valid bearer token is required (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": 'Bearer realm="dualbook"'},
            )
        scope["state"]["client"] = client.name
        scope["state"]["scopes"] = client.scopes
        return None

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then waits on the real one (disconnects)."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
