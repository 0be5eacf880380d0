"""Errors as ``application/problem+json`` (RFC 9457): every error response carries ``type``, ``title``, ``status``,
``detail``, the ledger's ``code`` (its SQLSTATE, ``LDnnn``, or a service code such as ``unauthorized``) and the
request id. The status follows the ledger's own classes (docs/service.md):

* a :class:`~dualbook.errors.ValidationError` (LD1xx), a request the service cannot read, a value the database
  cannot take (SQLSTATE class 22): **422**;
* a :class:`~dualbook.errors.ConflictError` (LD2xx): **409**, except the thing the URL names being unknown: **404**;
* the database unreachable, the pool exhausted, retries exhausted, the group queue full, the request's time up:
  **503** with ``Retry-After``;
* anything else is the service's fault: **500** (never for bad input: the contract test fuzzes for it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from starlette.responses import Response

from dualbook import errors

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER = "1"
TYPE_BASE = "urn:dualbook:problem:"


class Problem(Exception):
    """An error response, raised anywhere in a handler."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, request_id: str | None = None, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            out["instance"] = instance
        if request_id:
            out["request_id"] = request_id
        out.update(self.extra)
        return out

    def response(self, request_id: str | None = None, instance: str | None = None) -> Response:
        content = json.dumps(self.body(request_id, instance), ensure_ascii=False, default=str).encode()
        # the middleware adds X-Request-Id to every response, this one included
        return Response(content, status_code=self.status, headers=dict(self.headers), media_type=MEDIA_TYPE)


def invalid_request(found: Sequence[Mapping[str, Any]]) -> Problem:
    """The 422 for a request that cannot be read (pydantic's errors, each with the location of the bad part:
    ``("body", ...)``, ``("header", name)``, ``("query", name)``); the first one is the detail."""
    listed = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in found[:20]
    ]
    first = listed[0] if listed else {"loc": [], "msg": "invalid request"}
    detail = f"{'.'.join(first['loc'])}: {first['msg']}"
    return Problem(422, "invalid_request", "The request is not valid", detail, extra={"errors": listed})


def unavailable(code: str, detail: str) -> Problem:
    return Problem(503, code, "Service unavailable", detail, headers={"Retry-After": RETRY_AFTER})


def from_ledger_error(exc: errors.LedgerError, not_found: frozenset[str] = frozenset()) -> Problem:
    """The problem for a ledger error; ``not_found``: the codes that mean the URL's own resource is unknown."""
    code = exc.code or exc.name
    extra: dict[str, Any] = {"name": exc.name}
    if exc.context:
        extra["context"] = exc.context
    if exc.hint:
        extra["hint"] = exc.hint
    detail = exc.message
    if isinstance(exc, errors.ValidationError):
        return Problem(422, code, "The request is not valid", detail, extra=extra)
    if isinstance(exc, errors.ConflictError):
        if code in not_found:
            return Problem(404, code, "Not found", detail, extra=extra)
        return Problem(409, code, "The request conflicts with the ledger's state", detail, extra=extra)
    if isinstance(exc, errors.RetriesExhausted) or (isinstance(exc, errors.InfrastructureError) and exc.code is None):
        # transient, the client's own (retries exhausted -- it carries the last SQLSTATE, 40001 --, the group queue
        # full, the client closing): try again shortly, with the same key
        problem = unavailable(exc.name, detail)
        problem.extra.update(extra)
        return problem
    return Problem(500, code, "The ledger refused the call", detail, extra=extra)


def from_database_error(exc: psycopg.Error) -> Problem:
    """A database error that is not one of the ledger's own codes."""
    state = exc.sqlstate or ""
    if isinstance(exc, psycopg.DataError) or state.startswith("22"):
        # a value the database cannot take (a NUL character, an untranslatable character, ...): the input's fault
        message = " ".join(str(exc).split())[:300]
        return Problem(422, "invalid_input", "The request is not valid", message, extra={"sqlstate": state or None})
    if isinstance(exc, psycopg.OperationalError) or state.startswith(("08", "53", "57")):
        return unavailable("database_unavailable", "the database cannot be reached; retry with the same key")
    return Problem(500, "database_error", "Internal error", f"database error {state or type(exc).__name__}")
