"""The ASGI application: :func:`create_app` builds it from the environment (what ``dualbook serve`` runs in each
worker process, ``uvicorn --factory dualbook.service.app:create_app``), or from :class:`Settings` given."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dualbook import __version__
from dualbook.aio import AsyncLedger
from dualbook.group import GroupPolicy
from dualbook.service import metrics, replica
from dualbook.service.holds import router as holds_router
from dualbook.service.middleware import ServiceMiddleware, configure_logging, log
from dualbook.service.models import HealthOut, ProblemOut, ReadyOut
from dualbook.service.problems import MEDIA_TYPE, Problem, from_database_error, invalid_request, unavailable
from dualbook.service.readiness import PROJECT, READY_SQL, expected_change
from dualbook.service.reporting import router as report_router
from dualbook.service.routes import Answer, declared, post_entry_fast, router
from dualbook.service.settings import Settings, from_environment

TITLE = "dualbook ledger service"
READY_TIMEOUT = 2.0


def _request_id(request: Request) -> str | None:
    state: dict[str, Any] = request.scope.get("state", {})
    return state.get("request_id")


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(_request_id(request), request.url.path)


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problem = invalid_request(exc.errors())
    metrics.refused("invalid_request")
    return problem.response(_request_id(request), request.url.path)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # a body the framework cannot parse (not UTF-8, ...): as any unreadable request
        problem = Problem(422, "invalid_request", "The request is not valid", str(exc.detail))
        return problem.response(_request_id(request), request.url.path)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    problem = Problem(exc.status_code, code, str(exc.detail), str(exc.detail), headers=dict(exc.headers or {}))
    return problem.response(_request_id(request), request.url.path)


async def _database(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, psycopg.Error)
    return from_database_error(exc).response(_request_id(request), request.url.path)


async def _pool_gauges(ledger: AsyncLedger) -> None:
    while True:
        metrics.update_pool(ledger.pool.get_stats())
        await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    policy = GroupPolicy(max_entries=settings.group_max_entries, writers=settings.group_writers)
    ledger = await AsyncLedger.connect(
        settings.database_url,
        min_size=min(2, settings.pool_size),
        max_size=settings.pool_size,
        book=settings.book,
        group=policy,
        timeout=min(settings.timeout, 30.0),
        read_url=settings.read_url or None,
        read_policy=settings.read_policy(),
    )
    ledger.stats = metrics.ObservedRetryStats()
    if ledger.group is not None:
        ledger.group.stats = metrics.ObservedGroupStats()
    app.state.ledger = ledger
    gauges = asyncio.create_task(_pool_gauges(ledger))
    log.info("started", extra={"fields": {"pid": os.getpid(), "expected_change": app.state.expected.name}})
    try:
        yield
    finally:
        gauges.cancel()
        try:  # what is queued is sent first, for at most one request timeout (the database may be gone)
            await asyncio.wait_for(ledger.close(), settings.timeout)
        except TimeoutError:
            log.warning("closed before the queued requests were sent", extra={"fields": {"pid": os.getpid()}})
            await ledger.pool.close(timeout=1.0)


class ServiceApp(FastAPI):
    """The FastAPI application behind the service's front (:class:`ServiceMiddleware`): every HTTP request
    enters through the front, which answers ``POST /v1/entries`` itself and hands everything else to FastAPI."""

    front: ServiceMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is not None and scope["type"] == "http":
            await self.front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def framework(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's own handling (its middleware, routing and exception handlers)."""
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> ServiceApp:
    """The application; without ``settings`` they are read from the environment (DATABASE_URL and the
    ``DUALBOOK_SERVICE_*`` variables, docs/deploy.md)."""
    if settings is None:
        from dualbook.db.config import resolve  # the embedded cluster when DATABASE_URL is not set

        url = os.environ.get("DUALBOOK_SERVICE_DATABASE_URL") or resolve().url
        settings = from_environment(url)
    configure_logging(os.environ.get("DUALBOOK_LOG_LEVEL", "info"))
    app = ServiceApp(
        title=TITLE,
        version=__version__,
        description="The double-entry ledger over HTTP: amounts are integers of minor units; errors are "
        "application/problem+json with the ledger's error code (docs/service.md).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.expected = expected_change()
    app.include_router(router)
    app.include_router(report_router)
    app.include_router(holds_router)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(psycopg.Error, _database)
    clients = settings.clients if settings.auth else None

    async def post_entry(scope: Scope, body: bytes) -> Answer:
        return await post_entry_fast(app.state.ledger, settings.book, scope, body)

    app.front = ServiceMiddleware(
        app.framework,
        max_body=settings.max_body,
        timeout=settings.timeout,
        clients=clients,
        fast={("POST", "/v1/entries"): post_entry},
    )

    @app.get("/healthz", response_model=HealthOut, tags=["operations"])
    async def healthz() -> HealthOut:
        """The process is up (it does not look at the database: see /readyz)."""
        return HealthOut(status="ok")

    @app.get("/readyz", response_model=ReadyOut, tags=["operations"])
    async def readyz(request: Request) -> ReadyOut:
        """Ready for traffic: the database answers and its schema is one this build serves (the build's last
        change deployed: `exact`, or with newer changes after it: `ahead`); 503 otherwise. `read_target` says
        whether the read target answers (`none`: reads go to the primary); an unreachable one leaves the service
        ready (writes work; reads answer 503 until it is back)."""
        expected = app.state.expected
        ledger: AsyncLedger = app.state.ledger
        params = {"project": PROJECT, "change": expected.name, "planned_at": expected.planned_at}
        wait = min(READY_TIMEOUT, app.state.settings.timeout / 2)
        deadline = time.monotonic() + wait  # the primary and the read target together answer within `wait`
        try:
            async with asyncio.timeout(wait), ledger.pool.connection(timeout=wait) as conn:
                row = await (await conn.execute(READY_SQL, params)).fetchone()
        except (TimeoutError, psycopg.OperationalError) as exc:
            raise unavailable("database_unavailable", "the database cannot be reached") from exc
        except psycopg.Error as exc:
            raise unavailable("schema_unknown", f"cannot read the deployed changes ({exc.sqlstate})") from exc
        deployed, newest = (row[0], row[1]) if row else (False, None)
        if not deployed:
            raise unavailable(
                "schema_mismatch",
                f"this build expects the change {expected.name} deployed; the newest deployed is {newest}",
            )
        return ReadyOut(
            status="ready",
            expected_change=expected.name,
            deployed_change=newest,
            schema_state="exact" if newest == expected.name else "ahead",
            read_target=await replica.observe(ledger, max(deadline - time.monotonic(), 0.05)),
        )

    @app.get("/metrics", tags=["operations"], response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def prometheus() -> Response:
        """Prometheus metrics (text exposition format); with a read target, its replay lag too."""
        metrics.update_pool(app.state.ledger.pool.get_stats())
        await replica.observe(app.state.ledger, min(READY_TIMEOUT, app.state.settings.timeout / 2))
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: FastAPI's, with every error response as application/problem+json, the statuses each
    operation can answer with, and the bearer scheme."""
    if app.openapi_schema:
        return app.openapi_schema
    routes = [*declared.routes, *app.routes]  # the declared signatures of the routes that read requests themselves
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ProblemOut"] = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}
    retry = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}}}
    for path, item in doc.get("paths", {}).items():
        for op in item.values():
            statuses = ["404", "405", "413", "422", "500", "503"]
            if path.startswith("/v1"):
                statuses += ["401", "403", "409"]
                op["security"] = [{"bearer": []}]
            responses = op.setdefault("responses", {})
            for status in statuses:
                responses[status] = {"description": f"problem ({status})", "content": problem}
                if status == "503":
                    responses[status]["headers"] = retry
    app.openapi_schema = doc
    return doc


def openapi_json() -> str:
    """The OpenAPI document as committed in docs/openapi.json (``dualbook serve --openapi``)."""
    import json

    app = create_app(Settings(database_url="", auth=False))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
