"""The HTTP service against a real uvicorn on a loopback port and a real database: every endpoint's answers and
errors, idempotency over HTTP (50 concurrent requests with one key post once), authentication and scopes, the
body limit, the request id, logs and metrics. One database and one service for the module."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from tests.python.servicekit import Service, auth, running_service

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Iterator[str]:
    url = fresh_database(cluster, prefix="svc")
    yield url
    drop_database(cluster, url)


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(roles.url_as(db, roles.APP), tmp_path_factory.mktemp("service")) as svc:
        with svc.client("admin") as c:
            for code, kind in (("bank", "asset"), ("income", "income")):
                assert c.post("/v1/accounts", json={"code": code, "currency": "USD", "type": kind}).status_code == 201
            for i in range(5):
                body = {"code": f"wallet:{i}", "currency": "USD", "type": "liability", "lower_limit": 0}
                assert c.post("/v1/accounts", json=body).status_code == 201
        yield svc


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.client("admin") as c:
        yield c


def topup(wallet: str, amount: int) -> dict[str, Any]:
    return {
        "legs": [
            {"account": "bank", "amount": amount, "currency": "USD"},
            {"account": wallet, "amount": -amount, "currency": "USD"},
        ],
        "description": "top-up",
    }


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["type"].endswith(code) and body["title"] and "request_id" in body
    return body


# --- operations ----------------------------------------------------------------------------------------------


def test_health_and_readiness(service: Service) -> None:
    with service.client(None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["schema_state"] == "exact"
        plan = (Path(__file__).resolve().parents[2] / "sqitch.plan").read_text().splitlines()
        assert ready.json()["expected_change"] == [ln.split()[0] for ln in plan if ln[:1].isalpha()][-1]


def test_openapi_served_is_the_committed_document(service: Service) -> None:
    import json

    committed = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    with service.client(None) as c:
        assert c.get("/openapi.json").json() == committed


# --- entries -------------------------------------------------------------------------------------------------


def test_post_replay_and_key_reuse(admin: httpx.Client) -> None:
    key = {"Idempotency-Key": "t:post:1"}
    first = admin.post("/v1/entries", json=topup("wallet:0", 500), headers=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    body = first.json()
    assert body["idempotency_key"] == "t:post:1" and body["balances"]["wallet:0"] == 500
    again = admin.post("/v1/entries", json=topup("wallet:0", 500), headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    other = admin.post("/v1/entries", json=topup("wallet:0", 501), headers=key)
    problem(other, 409, "LD205")


def test_post_errors(admin: httpx.Client) -> None:
    problem(admin.post("/v1/entries", json=topup("wallet:0", 1)), 422, "invalid_request")  # no key
    k = {"Idempotency-Key": "t:err"}
    as_float = topup("wallet:0", 1)
    as_float["legs"][0]["amount"] = 1.0
    assert "amount" in problem(admin.post("/v1/entries", json=as_float, headers=k), 422, "invalid_request")["detail"]
    as_text = topup("wallet:0", 1)
    as_text["legs"][0]["amount"] = "1"
    problem(admin.post("/v1/entries", json=as_text, headers=k), 422, "invalid_request")
    unbalanced = topup("wallet:0", 1)
    unbalanced["legs"][0]["amount"] = 2
    problem(admin.post("/v1/entries", json=unbalanced, headers=k), 422, "LD102")
    problem(admin.post("/v1/entries", json=topup("nobody", 1), headers=k), 409, "LD201")
    problem(admin.post("/v1/entries", json=topup("wallet:0", 2**63), headers=k), 422, "LD106")
    nul = topup("wallet:0", 1)
    nul["description"] = "a\u0000b"
    assert admin.post("/v1/entries", json=nul, headers=k).status_code == 422
    problem(admin.post("/v1/entries", content=b"{not json", headers=k), 422, "invalid_request")
    problem(admin.post("/v1/entries", json=[1, 2], headers=k), 422, "invalid_request")


def test_refusal_is_recorded_and_repeated(admin: httpx.Client) -> None:
    k = {"Idempotency-Key": "t:overdraft"}
    pay = {
        "legs": [
            {"account": "wallet:1", "amount": 10, "currency": "USD"},
            {"account": "income", "amount": -10, "currency": "USD"},
        ]
    }
    first = problem(admin.post("/v1/entries", json=pay, headers=k), 409, "LD203")
    assert first["name"] == "limit_exceeded" and first["context"]["account"] == "wallet:1"
    problem(admin.post("/v1/entries", json=pay, headers=k), 409, "LD203")
    outcome = admin.get("/v1/outcomes", params={"key": "t:overdraft"}).json()
    assert outcome["status"] == "refused" and outcome["error"]["code"] == "LD203"
    assert admin.get("/v1/outcomes", params={"key": "t:never"}).json()["status"] == "unknown"


def test_show_entry_by_id_and_key(admin: httpx.Client) -> None:
    posted = admin.post("/v1/entries", json=topup("wallet:2", 70), headers={"Idempotency-Key": "t:show"}).json()
    by_id = admin.get(f"/v1/entries/{posted['entry_id']}")
    assert by_id.status_code == 200 and by_id.json()["idempotency_key"] == "t:show"
    assert [leg["amount"] for leg in by_id.json()["legs"]] == [70, -70]
    assert admin.get("/v1/entries/by-key", params={"key": "t:show"}).json() == by_id.json()
    outcome = admin.get("/v1/outcomes", params={"key": "t:show"}).json()
    assert outcome["status"] == "posted" and outcome["entry_id"] == posted["entry_id"]
    problem(admin.get("/v1/entries/999999999"), 404, "LD208")
    problem(admin.get("/v1/entries/by-key", params={"key": "t:none"}), 404, "LD208")
    problem(admin.get(f"/v1/entries/{2**63}"), 422, "invalid_request")
    problem(admin.get("/v1/entries/abc"), 422, "invalid_request")


def test_reverse(admin: httpx.Client) -> None:
    posted = admin.post("/v1/entries", json=topup("wallet:3", 40), headers={"Idempotency-Key": "t:rev:src"}).json()
    path = f"/v1/entries/{posted['entry_id']}/reversal"
    first = admin.post(path, json={"reason": "mistake"}, headers={"Idempotency-Key": "t:rev:1"})
    assert first.status_code == 201, first.text
    again = admin.post(path, json={"reason": "mistake"}, headers={"Idempotency-Key": "t:rev:1"})
    assert again.status_code == 200 and again.content == first.content
    problem(admin.post(path, json={"reason": "mistake"}, headers={"Idempotency-Key": "t:rev:2"}), 409, "LD209")
    problem(admin.post("/v1/entries/999999/reversal", headers={"Idempotency-Key": "t:rev:3"}), 404, "LD208")
    assert admin.get("/v1/balances/wallet:3").json()["balance"] == 0


def test_batch(admin: httpx.Client) -> None:
    unbalanced = topup("wallet:4", 5)
    unbalanced["legs"][0]["amount"] = 6
    entries = [
        {"key": "t:b:1", **topup("wallet:4", 5)},
        {"key": "t:b:2", **unbalanced},
        {"key": "t:b:1", **topup("wallet:4", 5)},
        {"key": "t:b:5", **topup("nobody", 5)},
    ]
    r = admin.post("/v1/batches", json={"entries": entries})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["posted", "rejected", "replayed", "refused"]
    assert results[1]["error"]["code"] == "LD102" and results[3]["error"]["code"] == "LD201"
    assert results[0]["entry_id"] == results[2]["entry_id"] and results[3]["key"] == "t:b:5"
    atomic = admin.post("/v1/batches", json={"entries": [{"key": "t:b:3", **topup("nobody", 5)}], "atomic": True})
    problem(atomic, 409, "LD201")
    problem(
        admin.post("/v1/batches", json={"entries": [{"key": "t:b:4", **topup("wallet:4", 5)}] * 1001}),
        422,
        "invalid_request",
    )


def test_fifty_concurrent_requests_with_one_key_post_once(service: Service, admin: httpx.Client) -> None:
    before = admin.get("/v1/balances/wallet:4").json()["balance"]

    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=service.base, headers=auth("poster"), limits=limits, timeout=60) as c:
            return await asyncio.gather(
                *(
                    c.post("/v1/entries", json=topup("wallet:4", 7), headers={"Idempotency-Key": "t:race"})
                    for _ in range(50)
                )
            )

    responses = asyncio.run(send_all())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201], statuses
    assert len({r.content for r in responses}) == 1
    assert admin.get("/v1/balances/wallet:4").json()["balance"] == before + 7


# --- accounts ------------------------------------------------------------------------------------------------


def test_accounts(admin: httpx.Client) -> None:
    body = {"code": "t:acct", "currency": "USD", "type": "asset"}
    assert admin.post("/v1/accounts", json=body).status_code == 201
    same = admin.post("/v1/accounts", json=body)
    assert same.status_code == 200 and same.json()["created"] is False
    problem(admin.post("/v1/accounts", json={**body, "type": "income"}), 409, "LD206")
    problem(admin.post("/v1/accounts", json={**body, "currency": "ZZZ"}), 422, "LD108")
    problem(admin.post("/v1/accounts", json={**body, "lower_limit": 0.5}), 422, "invalid_request")
    shown = admin.get("/v1/accounts/t:acct").json()
    assert shown["code"] == "t:acct" and shown["balance"] == 0 and shown["status"] == "open"
    problem(admin.get("/v1/accounts/t:none"), 404, "LD201")
    problem(admin.get("/v1/balances/t:none"), 404, "LD201")
    closed = admin.post("/v1/accounts/t:acct/close")
    assert closed.status_code == 200 and closed.json()["code"] == "t:acct"
    problem(admin.post("/v1/accounts/wallet:0/close"), 409, "LD207")
    problem(admin.post("/v1/accounts/t:none/close"), 404, "LD201")


def test_account_pages(admin: httpx.Client) -> None:
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"prefix": "wallet:", "limit": 2} | ({"after": after} if after else {})
        page = admin.get("/v1/accounts", params=params).json()
        seen += [a["code"] for a in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == [f"wallet:{i}" for i in range(5)]
    problem(admin.get("/v1/accounts", params={"limit": 0}), 422, "invalid_request")


def test_trial_balance(admin: httpx.Client) -> None:
    tb = admin.get("/v1/trial-balance").json()
    assert tb["book"] == "default" and tb["snapshot"]["source"] == "primary" and tb["snapshot"]["lsn"]
    (usd,) = tb["currencies"]
    assert usd["currency"] == "USD" and usd["net"] == 0 and usd["debits"] == usd["credits"] > 0
    assert admin.get("/v1/trial-balance", params={"book": "nope"}).json()["currencies"] == []


# --- authentication, limits, logs, metrics -------------------------------------------------------------------


def test_auth_and_scopes(service: Service) -> None:
    with service.client(None) as anon:
        r = anon.get("/v1/trial-balance")
        problem(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        problem(anon.get("/v1/trial-balance", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
        problem(anon.get("/v1/trial-balance", headers={"Authorization": "Basic eDp5"}), 401, "unauthorized")
        problem(anon.post("/v1/entries", content=b"not even json"), 401, "unauthorized")  # before anything else
        assert anon.get("/healthz").status_code == 200 and anon.get("/metrics").status_code == 200
    with service.client("reader") as reader:
        assert reader.get("/v1/trial-balance").status_code == 200
        k = {"Idempotency-Key": "t:auth"}
        problem(reader.post("/v1/entries", json=topup("wallet:0", 1), headers=k), 403, "forbidden")
    with service.client("poster") as poster:
        assert (
            poster.post("/v1/entries", json=topup("wallet:0", 1), headers={"Idempotency-Key": "t:auth"}).status_code
            == 201
        )
        problem(poster.get("/v1/trial-balance"), 403, "forbidden")
        problem(poster.post("/v1/accounts", json={"code": "x", "currency": "USD", "type": "asset"}), 403, "forbidden")


def test_body_limit_request_id_logs_and_metrics(service: Service, admin: httpx.Client) -> None:
    big = topup("wallet:0", 1) | {"description": "x" * 2_000_000}
    problem(admin.post("/v1/entries", json=big, headers={"Idempotency-Key": "t:big"}), 413, "body_too_large")
    r = admin.get("/v1/balances/wallet:0", headers={"X-Request-Id": "req-42"})
    assert r.headers["X-Request-Id"] == "req-42"
    missing = admin.get("/v1/nothing", headers={"X-Request-Id": "req-43"})
    assert problem(missing, 404, "not_found")["request_id"] == "req-43"
    assert missing.headers.get_list("X-Request-Id") == ["req-43"]
    assert len(admin.get("/v1/nothing", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]) == 32
    lines = service.log_lines()
    mine = [x for x in lines if x.get("request_id") == "req-42"]
    assert mine and mine[0]["route"] == "/v1/balances/{code:path}" and mine[0]["status"] == 200
    assert mine[0]["client"] == "admin"
    text = admin.get("/metrics").text
    assert 'dualbook_postings_total{kind="entry"}' in text
    assert 'dualbook_refusals_total{code="LD203"}' in text
    assert 'dualbook_replays_total{kind="entry"}' in text
    assert "dualbook_group_size_bucket" in text and "dualbook_pool_connections" in text
    assert 'dualbook_http_request_duration_seconds_bucket{le="0.005",route="/v1/entries"}' in text


def test_the_database_holds_each_key_once(db: str, service: Service) -> None:
    with psycopg.connect(db) as conn:
        dup = conn.execute(
            "SELECT idempotency_key FROM ledger.entries GROUP BY idempotency_key HAVING count(*) > 1"
        ).fetchall()
        assert dup == []
        check = conn.execute("SELECT count(*) FROM ledger.books_check()").fetchone()
        assert check == (0,)
