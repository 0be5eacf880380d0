"""The service's reports by effective date against a real uvicorn and a real database: balances as of a date,
statements walked page by page, trial balances, month-end reports, the period close and what it refuses
afterwards (a backdated entry or reversal: 409 LD214, nothing written). One database and one service for the
module; the period close runs last (it closes the whole book)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from tests.python.servicekit import Service, running_service
from tests.python.test_service import problem

STATEMENT_ENTRIES = 7


def entry(debit: str, credit: str, amount: int, day: str, description: str = "") -> dict[str, Any]:
    return {
        "legs": [
            {"account": debit, "amount": amount, "currency": "USD"},
            {"account": credit, "amount": -amount, "currency": "USD"},
        ],
        "description": description or None,
        "effective_date": day,
    }


@pytest.fixture(scope="module")
def service(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    url = fresh_database(cluster, prefix="svcrep")
    try:
        with running_service(roles.url_as(url, roles.APP), tmp_path_factory.mktemp("service")) as svc:
            with svc.client("admin") as c:
                accounts = [("bank", "USD", "asset"), ("sales", "USD", "income"), ("wallet", "USD", "liability")]
                accounts += [("eur:bank", "EUR", "asset"), ("eur:wallet", "EUR", "liability")]
                for code, currency, kind in accounts:
                    body = {"code": code, "currency": currency, "type": kind}
                    assert c.post("/v1/accounts", json=body).status_code == 201
                posts = [
                    ("jan", entry("bank", "wallet", 100, "2026-01-10")),
                    ("feb", entry("bank", "wallet", 50, "2026-02-10")),
                ]
                posts += [
                    (f"sale:{i}", entry("bank", "sales", 10 * (i + 1), f"2026-03-{i + 1:02d}", f"sale {i}"))
                    for i in range(STATEMENT_ENTRIES)
                ]
                eur = {
                    "legs": [
                        {"account": "eur:bank", "amount": 7, "currency": "EUR"},
                        {"account": "eur:wallet", "amount": -7, "currency": "EUR"},
                    ],
                    "effective_date": "2026-01-05",
                }
                posts.append(("eur", eur))
                for key, body in posts:
                    r = c.post("/v1/entries", json=body, headers={"Idempotency-Key": key})
                    assert r.status_code == 201, r.text
            yield svc
    finally:
        drop_database(cluster, url)


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.client("admin") as c:
        yield c


def assert_snapshot(body: dict[str, Any], source: str = "primary") -> None:
    snap = body["snapshot"]
    assert snap["source"] == source, snap
    assert "/" in snap["lsn"], snap  # a WAL position, e.g. 0/3000148


def test_balance_as_of_counts_the_postings_dated_up_to_the_date(admin: httpx.Client) -> None:
    jan = admin.get("/v1/reports/balance/wallet", params={"as_of": "2026-01-31"})
    assert jan.status_code == 200, jan.text
    assert jan.json()["balance"] == 100 and jan.json()["postings"] == 1 and jan.json()["as_of"] == "2026-01-31"
    assert_snapshot(jan.json())
    feb = admin.get("/v1/reports/balance/wallet", params={"as_of": "2026-02-28"}).json()
    assert feb["balance"] == 150 and feb["debit_balance"] == -150
    before = admin.get("/v1/reports/balance/wallet", params={"as_of": "2025-12-31"}).json()
    assert before["balance"] == 0 and before["postings"] == 0
    problem(admin.get("/v1/reports/balance/nobody", params={"as_of": "2026-01-31"}), 404, "LD201")
    problem(admin.get("/v1/reports/balance/wallet", params={"as_of": "2026-13-01"}), 422, "invalid_request")
    problem(admin.get("/v1/reports/balance/wallet"), 422, "invalid_request")


def test_statement_pages_walk_every_line_once(admin: httpx.Client) -> None:
    params: dict[str, Any] = {"from": "2026-03-01", "to": "2026-03-31", "limit": 3}
    lines: list[dict[str, Any]] = []
    pages = 0
    url: str | None = "/v1/reports/statement/sales"
    while url is not None:
        r = admin.get(url, params=params if pages == 0 else None)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        assert_snapshot(page)
        assert page["opening_balance"] == 0 and page["closing_balance"] == sum(10 * (i + 1) for i in range(7))
        lines += page["lines"]
        if page["next_cursor"] is None:
            assert "link" not in r.headers
            url = None
        else:
            link = r.headers["link"]
            assert link.endswith('>; rel="next"') and "cursor=" in link
            url = link[1 : link.index(">")]
            # the cursor in the body is the one in the link
            again = admin.get("/v1/reports/statement/sales", params={**params, "cursor": page["next_cursor"]}).json()
            assert again["lines"] == admin.get(url).json()["lines"]
    assert pages == 3
    assert [(x["entry_id"], x["leg"]) for x in lines] == sorted({(x["entry_id"], x["leg"]) for x in lines})
    assert len(lines) == STATEMENT_ENTRIES
    assert [x["amount"] for x in lines] == [-10 * (i + 1) for i in range(STATEMENT_ENTRIES)]
    assert lines[-1]["running_balance"] == 280 and lines[0]["description"] == "sale 0"


def test_statement_refusals(admin: httpx.Client) -> None:
    base = "/v1/reports/statement/sales"
    problem(admin.get(base, params={"from": "2026-03-31", "to": "2026-03-01"}), 422, "LD115")
    problem(admin.get(base, params={"from": "2026-03-01", "to": "2026-03-31", "cursor": "garbage"}), 422, "LD116")
    problem(admin.get(base, params={"from": "2026-03-01", "to": "2026-03-31", "limit": 0}), 422, "invalid_request")
    problem(admin.get(base, params={"to": "2026-03-31"}), 422, "invalid_request")
    problem(admin.get("/v1/reports/statement/nobody", params={"from": "2026-03-01", "to": "2026-03-31"}), 404, "LD201")


def test_statement_shows_holds_and_their_resolution(admin: httpx.Client) -> None:
    """Holds placed, captured in part and voided over HTTP: the statement's first page lists them in their state at
    the period's end, with the pending amounts; the capture's line names its hold; the next page has no holds.
    (In EUR, on accounts of their own: the other reports' USD totals stay as they are.)"""
    for code in ("eur:card", "eur:shop"):
        assert (
            admin.post("/v1/accounts", json={"code": code, "currency": "EUR", "type": "liability"}).status_code == 201
        )
    legs = [
        {"account": "eur:bank", "amount": 900, "currency": "EUR"},
        {"account": "eur:card", "amount": -900, "currency": "EUR"},
    ]
    assert admin.post("/v1/entries", json={"legs": legs}, headers={"Idempotency-Key": "card:fund"}).status_code == 201

    def hold(key: str, amount: int) -> int:
        body = {
            "legs": [
                {"account": "eur:card", "amount": amount, "currency": "EUR"},
                {"account": "eur:shop", "amount": -amount, "currency": "EUR"},
            ]
        }
        r = admin.post("/v1/holds", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        return int(r.json()["hold_id"])

    h1, h2, h3 = hold("card:auth:1", 300), hold("card:auth:2", 100), hold("card:auth:3", 40)
    captured = admin.post(f"/v1/holds/{h1}/capture", json={"amount": 120}, headers={"Idempotency-Key": "card:cap:1"})
    assert captured.status_code == 201, captured.text
    assert admin.post(f"/v1/holds/{h2}/void", headers={"Idempotency-Key": "card:void:2"}).status_code == 201
    today = admin.get("/v1/entries/by-key", params={"key": "card:fund"}).json()["effective_date"]

    r = admin.get("/v1/reports/statement/eur:card", params={"from": today, "to": today, "limit": 1})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [(h["hold_id"], h["idempotency_key"], h["amount"], h["status"]) for h in page["holds"]] == [
        (h1, "card:auth:1", 300, "captured"),
        (h2, "card:auth:2", 100, "voided"),
        (h3, "card:auth:3", 40, "pending"),
    ]
    first = page["holds"][0]
    assert (first["entry_id"], first["captured_amount"]) == (captured.json()["entry_id"], 120) and first["resolved_at"]
    assert page["holds"][2]["resolved_at"] is None and page["holds"][2]["entry_id"] is None
    assert (page["pending_debit"], page["pending_credit"]) == (40, 0)
    assert page["lines"][0]["hold_id"] is None and page["next_cursor"]
    rest = admin.get(
        "/v1/reports/statement/eur:card", params={"from": today, "to": today, "cursor": page["next_cursor"]}
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["holds"] is None and rest.json()["pending_debit"] == 40
    assert [(x["amount"], x["hold_id"]) for x in rest.json()["lines"]] == [(120, h1)]
    shop = admin.get("/v1/reports/statement/eur:shop", params={"from": today, "to": today}).json()
    assert [(h["amount"], h["captured_amount"]) for h in shop["holds"]] == [(-300, -120), (-100, None), (-40, None)]
    assert (shop["pending_debit"], shop["pending_credit"]) == (0, 40)
    before = admin.get("/v1/reports/statement/eur:card", params={"from": "2026-01-01", "to": "2026-01-31"}).json()
    assert before["holds"] == [] and before["pending_debit"] == 0


def test_without_a_read_target_reports_read_the_primary(service: Service) -> None:
    with service.client(None) as c:
        assert c.get("/readyz").json()["read_target"] == "none"
        assert "dualbook_replica_up{" not in c.get("/metrics").text  # declared, no sample


def test_trial_balance_as_of_nets_to_zero(admin: httpx.Client) -> None:
    r = admin.get("/v1/reports/trial-balance", params={"as_of": "2026-12-31"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_snapshot(body)
    assert body["balanced"] is True and {c["currency"] for c in body["currencies"]} == {"USD", "EUR"}
    for row in body["currencies"]:
        assert row["net"] == 0 and row["debits"] == row["credits"] > 0
    usd = next(c for c in body["currencies"] if c["currency"] == "USD")
    assert usd["debits"] == 150 + 280
    jan = admin.get("/v1/reports/trial-balance", params={"as_of": "2026-01-31"}).json()
    assert {c["currency"]: c["debits"] for c in jan["currencies"]} == {"USD": 100, "EUR": 7}
    problem(admin.get("/v1/reports/trial-balance", params={"as_of": "yesterday"}), 422, "invalid_request")


def test_month_end_report(admin: httpx.Client) -> None:
    r = admin.get("/v1/reports/month-end", params={"from": "2026-02-01", "through": "2026-02-28"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert_snapshot(body)
    assert body["final"] is False and body["closed_through"] is None
    wallet = next(row for row in body["rows"] if row["account"] == "wallet")
    assert (wallet["opening"], wallet["debits"], wallet["credits"], wallet["closing"]) == (100, 0, 50, 150)
    problem(admin.get("/v1/reports/month-end", params={"from": "2026-02-28", "through": "2026-02-01"}), 422, "LD115")


def test_month_end_report_shows_pending_at_the_period_end(admin: httpx.Client) -> None:
    """A hold voided before the period's end reserves nothing, the one still pending reserves its amount on each
    side, and the shop, which has no posting, has a row for it; a period that ended before the holds were placed
    has nothing pending (and no row for the shop). (In EUR, on accounts of their own.)"""
    for code in ("eur:me:card", "eur:me:shop"):
        assert (
            admin.post("/v1/accounts", json={"code": code, "currency": "EUR", "type": "liability"}).status_code == 201
        )
    legs = [
        {"account": "eur:bank", "amount": 500, "currency": "EUR"},
        {"account": "eur:me:card", "amount": -500, "currency": "EUR"},
    ]
    fund = admin.post(
        "/v1/entries", json={"legs": legs, "effective_date": "2026-04-01"}, headers={"Idempotency-Key": "me:fund"}
    )
    assert fund.status_code == 201, fund.text

    def hold(key: str, amount: int) -> int:
        legs = [
            {"account": "eur:me:card", "amount": amount, "currency": "EUR"},
            {"account": "eur:me:shop", "amount": -amount, "currency": "EUR"},
        ]
        r = admin.post("/v1/holds", json={"legs": legs}, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        return int(r.json()["hold_id"])

    voided = hold("me:auth:1", 200)
    assert admin.post(f"/v1/holds/{voided}/void", headers={"Idempotency-Key": "me:void:1"}).status_code == 201
    hold("me:auth:2", 30)
    today = datetime.now(UTC).date()

    def report(date_from: date, through: date) -> dict[str, tuple[int, ...]]:
        r = admin.get("/v1/reports/month-end", params={"from": str(date_from), "through": str(through)})
        assert r.status_code == 200, r.text
        return {
            row["account"]: tuple(
                row[k] for k in ("opening", "debits", "credits", "closing", "pending_debit", "pending_credit")
            )
            for row in r.json()["rows"]
            if row["account"].startswith("eur:me:")
        }

    assert report(today.replace(day=1), today) == {
        "eur:me:card": (500, 0, 0, 500, 30, 0),
        "eur:me:shop": (0, 0, 0, 0, 0, 30),
    }
    assert report(date(2026, 4, 1), today - timedelta(days=1)) == {"eur:me:card": (0, 0, 500, 500, 0, 0)}


def test_period_close_and_what_it_refuses(service: Service, admin: httpx.Client) -> None:
    with service.client("reader") as reader:
        problem(reader.post("/v1/periods/close", json={"through_date": "2026-01-31"}), 403, "forbidden")
        assert reader.get("/v1/periods").json()["closed_through"] is None
    problem(admin.post("/v1/periods/close", json={"through_date": "2999-01-31"}), 422, "LD117")
    problem(admin.post("/v1/periods/close", json={"through_date": "31/01/2026"}), 422, "invalid_request")
    closed = admin.post("/v1/periods/close", json={"through_date": "2026-01-31"})
    assert closed.status_code == 201, closed.text
    assert closed.json()["created"] is True and closed.json()["through_date"] == "2026-01-31"
    again = admin.post("/v1/periods/close", json={"through_date": "2026-01-31"})
    assert again.status_code == 200 and again.json()["created"] is False
    problem(admin.post("/v1/periods/close", json={"through_date": "2025-12-31"}), 409, "LD215")
    periods = admin.get("/v1/periods").json()
    assert periods["closed_through"] == "2026-01-31"
    assert_snapshot(periods)

    before = admin.get("/v1/accounts/wallet").json()
    late = admin.post("/v1/entries", json=entry("bank", "wallet", 5, "2026-01-15"), headers={"Idempotency-Key": "late"})
    body = problem(late, 409, "LD214")
    assert body["context"]["closed_through"] == "2026-01-31", body
    assert admin.get("/v1/accounts/wallet").json() == before  # nothing written
    assert admin.get("/v1/reports/balance/wallet", params={"as_of": "2026-01-31"}).json()["balance"] == 100
    assert admin.get("/v1/outcomes", params={"key": "late"}).json()["status"] != "posted"
    batch = admin.post("/v1/batches", json={"entries": [{**entry("bank", "wallet", 5, "2026-01-16"), "key": "late:b"}]})
    assert batch.status_code == 200, batch.text
    (result,) = batch.json()["results"]
    assert result["status"] in ("refused", "rejected") and result["error"]["code"] == "LD214", result
    assert admin.get("/v1/accounts/wallet").json() == before

    jan_entry = admin.get("/v1/entries/by-key", params={"key": "jan"}).json()["entry_id"]
    reversal = f"/v1/entries/{jan_entry}/reversal"
    dated = admin.post(reversal, json={"effective_date": "2026-01-20"}, headers={"Idempotency-Key": "rev:closed"})
    problem(dated, 409, "LD214")
    assert admin.get("/v1/accounts/wallet").json() == before
    ok = admin.post(reversal, json={"effective_date": "2026-04-01"}, headers={"Idempotency-Key": "rev:open"})
    assert ok.status_code == 201, ok.text
    assert admin.get("/v1/reports/balance/wallet", params={"as_of": "2026-03-31"}).json()["balance"] == 150
    assert admin.get("/v1/reports/balance/wallet", params={"as_of": "2026-04-01"}).json()["balance"] == 50

    jan = admin.get("/v1/reports/month-end", params={"from": "2026-01-01", "through": "2026-01-31"}).json()
    assert jan["final"] is True and jan["closed_through"] == "2026-01-31"
