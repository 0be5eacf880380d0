"""The hold endpoints of the HTTP service against a real uvicorn and database: place, replay, capture in part,
void, read, available balances, and their problems (404 unknown hold, 409 resolved, 422 more than held)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from tests.python.servicekit import running_service

from .test_service import problem


@pytest.fixture(scope="module")
def admin(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    url = fresh_database(cluster, prefix="svch")
    with (
        running_service(roles.url_as(url, roles.APP), tmp_path_factory.mktemp("service")) as svc,
        svc.client("admin") as c,
    ):
        for code, kind, lower in (("bank", "asset", None), ("shop", "liability", None), ("wallet", "liability", 0)):
            body = {"code": code, "currency": "USD", "type": kind, "lower_limit": lower}
            assert c.post("/v1/accounts", json=body).status_code == 201
        legs = [
            {"account": "bank", "amount": 1000, "currency": "USD"},
            {"account": "wallet", "amount": -1000, "currency": "USD"},
        ]
        assert c.post("/v1/entries", json={"legs": legs}, headers={"Idempotency-Key": "fund"}).status_code == 201
        yield c
    drop_database(cluster, url)


def auth_legs(amount: int) -> list[dict[str, object]]:
    return [
        {"account": "wallet", "amount": amount, "currency": "USD"},
        {"account": "shop", "amount": -amount, "currency": "USD"},
    ]


def test_hold_capture_void_over_http(admin: httpx.Client) -> None:
    key = {"Idempotency-Key": "auth:1"}
    r = admin.post("/v1/holds", json={"legs": auth_legs(600), "description": "card"}, headers=key)
    assert r.status_code == 201, r.text
    hold_id = r.json()["hold_id"]
    assert r.json()["available"] == {"wallet": 400, "shop": 0}
    again = admin.post("/v1/holds", json={"legs": auth_legs(600), "description": "card"}, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["hold_id"] == hold_id

    a = admin.get("/v1/available", params={"account": "wallet"}).json()
    assert (a["balance"], a["pending_debit"], a["available"]) == (1000, 600, 400)
    problem(admin.post("/v1/holds", json={"legs": auth_legs(401)}, headers={"Idempotency-Key": "auth:2"}), 409, "LD203")

    problem(
        admin.post(f"/v1/holds/{hold_id}/capture", json={"amount": 601}, headers={"Idempotency-Key": "c1"}),
        422,
        "LD121",
    )
    c = admin.post(f"/v1/holds/{hold_id}/capture", json={"amount": 250}, headers={"Idempotency-Key": "c1"})
    assert c.status_code == 201, c.text
    assert (c.json()["amount"], c.json()["released"], c.json()["balances"]) == (250, 350, {"wallet": 750, "shop": 250})
    replay = admin.post(f"/v1/holds/{hold_id}/capture", json={"amount": 250}, headers={"Idempotency-Key": "c1"})
    assert replay.status_code == 200 and replay.json()["entry_id"] == c.json()["entry_id"]
    problem(admin.post(f"/v1/holds/{hold_id}/void", headers={"Idempotency-Key": "v1"}), 409, "LD224")
    problem(admin.post(f"/v1/holds/{hold_id}/capture", headers={"Idempotency-Key": "c2"}), 409, "LD222")
    h = admin.get(f"/v1/holds/{hold_id}").json()
    assert (h["status"], h["captured_amount"], h["entry_id"]) == ("captured", 250, c.json()["entry_id"])

    v = admin.post("/v1/holds", json={"legs": auth_legs(100)}, headers={"Idempotency-Key": "auth:3"}).json()["hold_id"]
    assert admin.post(f"/v1/holds/{v}/void", headers={"Idempotency-Key": "v3"}).status_code == 201
    assert admin.post(f"/v1/holds/{v}/void", headers={"Idempotency-Key": "v3"}).status_code == 200
    problem(admin.post(f"/v1/holds/{v}/capture", headers={"Idempotency-Key": "c3"}), 409, "LD221")
    problem(admin.get("/v1/holds/999999"), 404, "LD220")
    problem(admin.post("/v1/holds/999999/void", headers={"Idempotency-Key": "v9"}), 404, "LD220")
    problem(admin.get("/v1/available", params={"account": "nope"}), 404, "LD201")
