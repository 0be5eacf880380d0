"""/readyz: ready only when the database answers and the schema holds the change this build expects -- exactly
(the newest deployed) or ahead (newer changes deployed after it); 503 with Retry-After when the change is missing
or another version of it is deployed, or the database cannot be reached. /healthz answers regardless."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from dualbook import Ledger
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.service.readiness import expected_change
from dualbook.testing import drop_database, fresh_database
from tests.python.servicekit import auth, free_port, running_service


@pytest.fixture
def db(cluster: Cluster) -> Iterator[str]:
    url = fresh_database(cluster, prefix="ready")
    yield url
    drop_database(cluster, url)


def test_expected_change_is_the_last_of_the_plan() -> None:
    plan = (Path(__file__).resolve().parents[2] / "sqitch.plan").read_text().splitlines()
    assert expected_change().name == [ln.split()[0] for ln in plan if ln[:1].isalpha()][-1]


def test_ready_exact_ahead_and_mismatched(db: str, tmp_path: Path) -> None:
    expected = expected_change().name
    with running_service(roles.url_as(db, roles.APP), tmp_path) as svc, svc.client(None) as c:
        r = c.get("/readyz")
        assert r.status_code == 200 and r.json()["schema_state"] == "exact", r.text
        with psycopg.connect(db, autocommit=True) as conn:
            # the next release's migrations ran before its cutover: a newer change after the expected one
            conn.execute(
                "INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, committed_at, "
                "committer_name, committer_email, planned_at, planner_name, planner_email) "
                "SELECT md5('future'), md5('future hash'), 'future_change', project, note, "
                "committed_at + interval '1 s', "
                "committer_name, committer_email, planned_at + interval '1 s', planner_name, planner_email "
                "FROM sqitch.changes WHERE change = %s",
                (expected,),
            )
            r = c.get("/readyz")
            assert r.status_code == 200, r.text
            assert r.json()["schema_state"] == "ahead" and r.json()["deployed_change"] == "future_change"
            # another version of the expected change (as after a rework): not this build's schema
            conn.execute(
                "UPDATE sqitch.changes SET planned_at = planned_at - interval '1 day' WHERE change = %s", (expected,)
            )
            r = c.get("/readyz")
            assert r.status_code == 503 and r.headers["Retry-After"], r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "schema_mismatch" and expected in r.json()["detail"]
        assert c.get("/healthz").status_code == 200


def test_database_unreachable_is_503_with_retry_after(tmp_path: Path) -> None:
    nowhere = f"postgresql://dualbook_app@127.0.0.1:{free_port()}/ledger?connect_timeout=1"
    with running_service(nowhere, tmp_path, "--timeout", "2") as svc, svc.client(None) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
        assert r.json()["code"] == "database_unavailable"
        body = {
            "legs": [
                {"account": "a", "amount": 1, "currency": "USD"},
                {"account": "b", "amount": -1, "currency": "USD"},
            ]
        }
        r = c.post("/v1/entries", json=body, headers={"Idempotency-Key": "k"} | auth("poster"))
        assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
        assert r.json()["code"] in ("database_unavailable", "timeout")


def test_request_timeout_is_503_and_the_key_resolves_it(db: str, tmp_path: Path) -> None:
    """A posting held up past --timeout answers 503 (outcome unknown); once the hold is gone the same request
    with the same key gets the entry, posted once."""
    with Ledger.connect(db, max_size=1) as setup:
        setup.create_account("bank", "USD", "asset")
        setup.create_account("wallet", "USD", "liability")
    body = {
        "legs": [
            {"account": "bank", "amount": 5, "currency": "USD"},
            {"account": "wallet", "amount": -5, "currency": "USD"},
        ]
    }
    key = {"Idempotency-Key": "t:slow"} | auth("poster")
    with running_service(roles.url_as(db, roles.APP), tmp_path, "--timeout", "1") as svc, svc.client(None) as c:
        with psycopg.connect(db) as holder:  # a transaction that holds the wallet's row
            holder.execute("SELECT 1 FROM ledger_private.account WHERE code = 'wallet' FOR UPDATE")
            r = c.post("/v1/entries", json=body, headers=key)
            assert r.status_code == 503 and r.headers["Retry-After"] == "1", r.text
            assert r.json()["code"] == "timeout" and "same Idempotency-Key" in r.json()["detail"]
        for _ in range(50):  # the hold is gone: the same request again until it is answered
            r = c.post("/v1/entries", json=body, headers=key)
            if r.status_code != 503:
                break
        assert r.status_code in (200, 201), r.text
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM ledger.entries WHERE idempotency_key = 't:slow'").fetchone() == (
                1,
            )


def test_several_workers_share_the_port_and_the_metrics(db: str, tmp_path: Path) -> None:
    """--workers 2: two processes, each with its own pool and group poster; a scrape adds up both."""
    with Ledger.connect(db, max_size=1) as setup:
        setup.create_account("bank", "USD", "asset")
        setup.create_account("wallet", "USD", "liability")
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    body = {
        "legs": [
            {"account": "bank", "amount": 1, "currency": "USD"},
            {"account": "wallet", "amount": -1, "currency": "USD"},
        ]
    }
    with running_service(roles.url_as(db, roles.APP), tmp_path, "--workers", "2", env=env) as svc:
        for i in range(40):  # a new connection each time: the kernel spreads them over the workers
            headers = {"Idempotency-Key": f"w:{i}"} | auth("admin")
            assert httpx.post(svc.base + "/v1/entries", json=body, headers=headers).status_code == 201
        pids = {line["pid"] for line in svc.log_lines() if line.get("msg") == "started"}
        assert len(pids) == 2, pids
        with svc.client("admin") as c:
            assert c.get("/v1/balances/wallet").json()["balance"] == 40
            metrics = c.get("/metrics").text
            assert 'dualbook_postings_total{kind="entry"} 40.0' in metrics, metrics[:2000]
