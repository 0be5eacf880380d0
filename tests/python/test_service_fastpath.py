"""``POST /v1/entries`` is answered by the service's front (``ServiceMiddleware``'s own route), outside FastAPI's
routing. These tests hold it to the answers the framework route gives and to the service's documented answers:

* in process, on a real database: the front and the same middleware without its own route (every request then goes
  through FastAPI's router, its exception handlers and responses) answer every request alike -- fixed failure
  classes and hypothesis-generated bodies (floats, bools, huge integers, strings for amounts, missing and extra
  fields, bad dates, non-JSON bytes), each valid one replayed;
* over a real ``dualbook serve``: the exact answer of each failure class (the bodies the service gave before the
  front answered this route), the replay, the log line and the metrics.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.service.app import create_app, lifespan
from dualbook.service.auth import client_entry, load_clients
from dualbook.service.middleware import ServiceMiddleware
from dualbook.service.settings import Settings
from dualbook.testing import drop_database, fresh_database
from tests.python.servicekit import TOKENS, Service, auth, running_service

MAX_BODY = 4096
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Iterator[str]:
    url = fresh_database(cluster, prefix="fast")
    yield url
    drop_database(cluster, url)


def leg(account: Any, amount: Any, currency: Any = "USD") -> dict[str, Any]:
    return {"account": account, "amount": amount, "currency": currency}


GOOD = {"legs": [leg("bank", 5), leg("income", -5)]}


# --- in process: the front against the framework route ----------------------------------------------------------


@dataclass
class Pair:
    loop: asyncio.AbstractEventLoop
    front: httpx.AsyncClient
    routed: httpx.AsyncClient
    keys: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    def both(self, body: bytes, headers: dict[str, str], key: str | None) -> tuple[httpx.Response, httpx.Response]:
        """The same request to each side, with a key of its own (``key`` None: no header; "": an empty one)."""
        n = next(self.keys)

        async def send(client: httpx.AsyncClient, side: str) -> httpx.Response:
            h = dict(headers, **{"X-Request-Id": "cmp", "Content-Type": "application/json"})
            if key is not None:
                h["Idempotency-Key"] = f"{side}-{n:06d}{key}" if key else ""
            return await client.post("/v1/entries", content=body, headers=h)

        return self.loop.run_until_complete(send(self.front, "f")), self.loop.run_until_complete(send(self.routed, "r"))


@pytest.fixture(scope="module")
def pair(db: str) -> Iterator[Pair]:
    tokens = {"clients": [client_entry(name, token, scopes) for name, (token, scopes) in TOKENS.items()]}
    config = Settings(
        database_url=roles.url_as(db, roles.APP), clients=load_clients(json.dumps(tokens)), max_body=MAX_BODY
    )
    app = create_app(config)
    assert app.front is not None and ("POST", "/v1/entries") in app.front.fast
    framework_only = ServiceMiddleware(
        app.framework, max_body=config.max_body, timeout=config.timeout, clients=config.clients
    )
    loop = asyncio.new_event_loop()
    running = lifespan(app)
    loop.run_until_complete(running.__aenter__())
    front = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://front")
    routed = httpx.AsyncClient(transport=httpx.ASGITransport(app=framework_only), base_url="http://front")
    try:
        for code, kind in (("bank", "asset"), ("income", "income")):
            r = loop.run_until_complete(
                front.post("/v1/accounts", json={"code": code, "currency": "USD", "type": kind}, headers=auth("admin"))
            )
            assert r.status_code == 201, r.text
        yield Pair(loop, front, routed)
    finally:
        loop.run_until_complete(front.aclose())
        loop.run_until_complete(routed.aclose())
        loop.run_until_complete(running.__aexit__(None, None, None))
        loop.close()


def normal(r: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body with what legitimately differs between the two sides made equal: the key's side
    prefix, entry ids, recording times and balances (both sides post to the same accounts)."""
    headers = {k: v for k, v in r.headers.items() if k != "content-length"}
    assert int(r.headers["content-length"]) == len(r.content)
    text = re.sub(r"\b[fr]-(\d{6})", r"K-\1", r.text)
    text = re.sub(r"entry \d+", "entry N", text)
    try:
        body = json.loads(text)
    except ValueError:
        return r.status_code, headers, text
    if isinstance(body, dict):
        for name in ("entry_id", "recorded_at", "balances"):
            if name in body:
                body[name] = "*"
        if isinstance(body.get("context"), dict) and "entry_id" in body["context"]:
            body["context"]["entry_id"] = "*"
    return r.status_code, headers, body


def assert_alike(pair: Pair, body: bytes, headers: dict[str, str], key: str | None) -> httpx.Response:
    front, routed = pair.both(body, headers, key)
    assert normal(front) == normal(routed), (body, front.text, routed.text)
    assert front.status_code != 500, front.text
    if front.status_code == 201:  # a replay: 200, the identical body, Idempotent-Replayed
        h = dict(headers, **{"Idempotency-Key": str(front.json()["idempotency_key"]), "X-Request-Id": "cmp"})
        again = pair.loop.run_until_complete(pair.front.post("/v1/entries", content=body, headers=h))
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true", again.text
        assert again.content == front.content
    return front


CLASSES: list[tuple[str, bytes, dict[str, str], str | None, int, str | None]] = [
    ("posted", json.dumps(GOOD).encode(), auth("poster"), "k", 201, None),
    ("no token", json.dumps(GOOD).encode(), {}, "k", 401, "unauthorized"),
    ("unknown token", json.dumps(GOOD).encode(), {"Authorization": "Bearer nope"}, "k", 401, "unauthorized"),
    ("not a bearer", json.dumps(GOOD).encode(), {"Authorization": "Basic eDp5"}, "k", 401, "unauthorized"),
    ("no post scope", json.dumps(GOOD).encode(), auth("reader"), "k", 403, "forbidden"),
    ("too large", json.dumps(GOOD | {"description": "x" * MAX_BODY}).encode(), auth("poster"), "k", 413, None),
    ("no key", json.dumps(GOOD).encode(), auth("poster"), None, 422, "invalid_request"),
    ("empty key", json.dumps(GOOD).encode(), auth("poster"), "", 422, "invalid_request"),
    ("no key, bad body", b'{"legs": 1}', auth("poster"), None, 422, "invalid_request"),
    ("not JSON", b"{nope", auth("poster"), "k", 422, "invalid_request"),
    ("empty body", b"", auth("poster"), "k", 422, "invalid_request"),
    ("not UTF-8", b'{"legs": [{"account": "\xff"}]}', auth("poster"), "k", 422, "invalid_request"),
    ("float", json.dumps({"legs": [leg("bank", 1.0), leg("income", -1)]}).encode(), auth("poster"), "k", 422, None),
    ("unbalanced", json.dumps({"legs": [leg("bank", 1), leg("income", -2)]}).encode(), auth("poster"), "k", 422, None),
    (
        "huge",
        json.dumps({"legs": [leg("bank", 2**70), leg("income", -(2**70))]}).encode(),
        auth("poster"),
        "k",
        422,
        None,
    ),
    (
        "unknown account",
        json.dumps({"legs": [leg("no", 1), leg("income", -1)]}).encode(),
        auth("poster"),
        "k",
        409,
        None,
    ),
    ("NUL", json.dumps({"legs": [leg("b\u0000", 1), leg("income", -1)]}).encode(), auth("poster"), "k", 422, None),
]


@pytest.mark.parametrize(("name", "body", "headers", "key", "status", "code"), CLASSES, ids=[c[0] for c in CLASSES])
def test_the_front_answers_each_class_as_the_framework_route(
    pair: Pair, name: str, body: bytes, headers: dict[str, str], key: str | None, status: int, code: str | None
) -> None:
    r = assert_alike(pair, body, headers, key)
    assert r.status_code == status, r.text
    if code is not None:
        assert r.headers["content-type"] == PROBLEM and r.json()["code"] == code


def test_a_reused_key_is_409_on_both(pair: Pair) -> None:
    for side in (pair.front, pair.routed):
        h = auth("poster") | {"Idempotency-Key": "reused"}
        first = pair.loop.run_until_complete(side.post("/v1/entries", json=GOOD, headers=h))
        assert first.status_code in (200, 201), first.text
        other = {"legs": [leg("bank", 6), leg("income", -6)]}
        r = pair.loop.run_until_complete(side.post("/v1/entries", json=other, headers=h))
        assert r.status_code == 409 and r.json()["code"] == "LD205", r.text


_OPTIONAL = ["description", "metadata", "effective_date", "assertions"]
_amounts = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(2**63 - 2, 2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
_accounts = st.sampled_from(["bank", "income", "nope"]) | st.integers() | st.none()
_full_legs = st.fixed_dictionaries(
    {"account": _accounts, "amount": _amounts, "currency": st.sampled_from(["USD", "EUR"])},
    optional={"extra": st.integers()},
)
#: a leg, now and then without one of its fields
_legs = st.tuples(_full_legs, st.sets(st.sampled_from(["account", "amount", "currency"]), max_size=1)).map(
    lambda t: {k: v for k, v in t[0].items() if k not in t[1]}
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "legs": st.lists(_legs, max_size=3) | st.integers() | st.none(),
        "description": st.none() | st.text(max_size=5) | st.integers() | st.booleans(),
        "metadata": st.none()
        | st.dictionaries(
            st.text(max_size=3), st.integers() | st.floats(allow_nan=False) | st.text(max_size=3), max_size=2
        )
        | st.lists(st.integers(), max_size=2),
        "effective_date": st.sampled_from(["2026-01-01", "2026-02-30", "2026-1-1", 0, 1.5, "x", None, True]),
        "assertions": st.none()
        | st.lists(
            st.fixed_dictionaries(
                {"account": st.sampled_from(["bank", "nope"]), "op": st.sampled_from([">=", "~"]), "balance": _amounts}
            ),
            max_size=1,
        ),
        "unknown": st.integers(),
    },
)
#: a valid entry: two balanced legs between accounts that exist, and any of the optional fields
_valid = st.builds(
    lambda amount, accounts, optional: {
        "legs": [leg(accounts[0], amount), leg(accounts[1], -amount)],
        **optional,
    },
    st.integers(-(10**6), 10**6),
    st.permutations(["bank", "income"]),
    st.fixed_dictionaries(
        {},
        optional={
            "description": st.none() | st.text(max_size=8),
            "metadata": st.none()
            | st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=2),
            "effective_date": st.none() | st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 11, 30)).map(str),
            "assertions": st.none()
            | st.just([{"account": "bank", "op": ">=", "balance": -(10**15)}])
            | st.just([{"account": "bank", "op": "=", "balance": 1}]),
        },
    ),
)
_wild = (
    _amounts
    | st.text(max_size=3)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)
)


def _mutate(body: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """``body`` with one part replaced by ``value`` (or removed, for ``value`` "<drop>")."""
    out = json.loads(json.dumps(body))
    target, name = (out["legs"][0], where.split(".")[1]) if where.startswith("leg.") else (out, where)
    if value == "<drop>":
        target.pop(name, None)
    else:
        target[name] = value
    return out


_mutated = st.builds(
    _mutate,
    _valid,
    st.sampled_from(["leg.account", "leg.amount", "leg.currency", "leg.extra", *_OPTIONAL, "legs", "unknown"]),
    _wild | st.just("<drop>"),
)
_valid_json = _valid.map(lambda b: json.dumps(b).encode())
_raw = st.one_of(
    _valid_json,
    _valid_json,
    _valid_json,
    _mutated.map(lambda b: json.dumps(b).encode()),
    _bodies.map(lambda b: json.dumps(b).encode()),
    st.binary(max_size=16),
    st.sampled_from([b"", b"null", b"[]", b"{", b'{"legs": null}', b'{"legs": []}', b" {} ", b'{"legs":[],"legs":[]}']),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_raw, key=st.sampled_from(["k", "k", "k", "k", None, ""]))
def test_generated_bodies_get_the_same_answer(pair: Pair, body: bytes, key: str | None) -> None:
    assert_alike(pair, body, auth("poster"), key)


# --- over HTTP: the documented answers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    args = ("--max-body", str(MAX_BODY))
    with running_service(roles.url_as(db, roles.APP), tmp_path_factory.mktemp("fast"), *args) as svc:
        yield svc


def _problem(r: httpx.Response, status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body.pop("request_id") == r.headers["X-Request-Id"]
    expected = {"type": f"urn:dualbook:problem:{code}", "status": status, "code": code, "detail": detail}
    expected |= {"instance": "/v1/entries", **extra}
    assert {k: body.get(k) for k in expected} == expected, body
    return body


def test_documented_answers(service: Service) -> None:
    with service.client("poster") as c:
        key = {"Idempotency-Key": "doc:1"}
        first = c.post("/v1/entries", json=GOOD, headers=key)
        assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
        assert first.headers["content-type"] == "application/json"
        assert list(first.json()) == ["entry_id", "idempotency_key", "recorded_at", "balances"]
        again = c.post("/v1/entries", content=json.dumps(GOOD, indent=2), headers=key)  # same entry, other bytes
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content
        other = {"legs": [leg("bank", 6), leg("income", -6)]}
        _problem(c.post("/v1/entries", json=other, headers=key), 409, "LD205", detail=_detail_of(c, other, key))
        # the body is read as JSON whatever its declared type (as the framework route did)
        plain = c.post(
            "/v1/entries", content=json.dumps(GOOD), headers={"Idempotency-Key": "doc:2", "Content-Type": "text/plain"}
        )
        assert plain.status_code == 201, plain.text
        _problem(
            c.post("/v1/entries", json=GOOD),
            422,
            "invalid_request",
            "header.Idempotency-Key: Field required",
            title="The request is not valid",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "Field required", "type": "missing"}],
        )
        _problem(
            c.post(
                "/v1/entries", json={"legs": [leg("bank", True), leg("income", -1)]}, headers={"Idempotency-Key": "d:3"}
            ),
            422,
            "invalid_request",
            "body.legs.0.amount: Input should be a valid integer",
            errors=[
                {"loc": ["body", "legs", "0", "amount"], "msg": "Input should be a valid integer", "type": "int_type"}
            ],
        )
        _problem(
            c.post("/v1/entries", json=GOOD | {"x": 1}, headers={"Idempotency-Key": "d:4"}),
            422,
            "invalid_request",
            "body.x: Extra inputs are not permitted",
            errors=[{"loc": ["body", "x"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}],
        )
        _problem(
            c.post("/v1/entries", content=b"{nope", headers={"Idempotency-Key": "d:5"}),
            422,
            "invalid_request",
            "body: Invalid JSON: key must be a string at line 1 column 2",
        )
        _problem(
            c.post("/v1/entries?book=nobook", json=GOOD, headers={"Idempotency-Key": "d:6"}),
            409,
            "LD210",
            "unknown book 'nobook'",
            context={"book": "nobook"},
        )
        big = json.dumps(GOOD | {"description": "x" * MAX_BODY}).encode()
        too_large = {"title": "Request body too large"}
        _problem(
            c.post("/v1/entries", content=big, headers={"Idempotency-Key": "d:7"}),
            413,
            "body_too_large",
            f"at most {MAX_BODY} bytes",
            **too_large,
        )
        chunked = c.post("/v1/entries", content=iter([big[:2000], big[2000:]]), headers={"Idempotency-Key": "d:8"})
        assert "content-length" not in chunked.request.headers
        _problem(chunked, 413, "body_too_large", f"at most {MAX_BODY} bytes", **too_large)
        # the router's answers around the route: another method, a trailing slash
        wrong = c.get("/v1/entries")
        assert (
            wrong.status_code == 405
            and wrong.headers["Allow"] == "POST"
            and wrong.json()["code"] == "method_not_allowed"
        )
        slash = c.post("/v1/entries/", json=GOOD, headers={"Idempotency-Key": "d:9"})
        assert slash.status_code == 307 and slash.headers["location"].endswith("/v1/entries")
    with service.client(None) as anonymous:
        r = anonymous.post("/v1/entries", json=GOOD, headers={"Idempotency-Key": "d:10"})
        _problem(r, 401, "unauthorized", "a valid bearer token is required (Authorization: Bearer <token>)")
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="dualbook"'
    with service.client("reader") as reader:
        r = reader.post("/v1/entries", json=GOOD, headers={"Idempotency-Key": "d:11"})
        _problem(r, 403, "forbidden", "client 'reader' lacks the 'post' scope")


def _detail_of(c: httpx.Client, other: dict[str, Any], key: dict[str, str]) -> str:
    entry = c.get("/v1/outcomes", params={"key": key["Idempotency-Key"]}, headers=auth("reader")).json()["entry_id"]
    return f"idempotency key 'doc:1' was already used for entry {entry} with a different request"


def test_the_front_logs_and_counts_its_route(service: Service) -> None:
    with service.client("poster") as c:
        r = c.post("/v1/entries", json=GOOD, headers={"Idempotency-Key": "log:1", "X-Request-Id": "fast-1"})
        assert r.status_code == 201 and r.headers["X-Request-Id"] == "fast-1"
        bad = c.post("/v1/entries", json=GOOD, headers={"X-Request-Id": "fast-2"})
        assert bad.status_code == 422
    lines = {str(x.get("request_id")): x for x in service.log_lines() if x.get("msg") == "request"}
    expected = {"method": "POST", "path": "/v1/entries", "route": "/v1/entries", "client": "poster", "level": "info"}
    assert {k: lines["fast-1"].get(k) for k in expected} == expected
    assert lines["fast-1"]["status"] == 201 and lines["fast-2"]["status"] == 422
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(lines["fast-1"]["ts"]))
    text = httpx.get(service.base + "/metrics").text
    assert re.search(r'dualbook_http_requests_total\{method="POST",route="/v1/entries",status="201"\} [1-9]', text)
    assert re.search(r'dualbook_http_requests_total\{method="POST",route="/v1/entries",status="422"\} [1-9]', text)
    assert re.search(r'dualbook_refusals_total\{code="invalid_request"\} [1-9]', text)
    assert re.search(r'dualbook_postings_total\{kind="entry"\} [1-9]', text)


def test_only_the_posting_route_is_the_fronts_own() -> None:
    """Every other route keeps FastAPI's handling."""
    app = create_app(Settings(database_url="", auth=False))
    assert app.front is not None and list(app.front.fast) == [("POST", "/v1/entries")]
