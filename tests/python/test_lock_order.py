"""Requests that write several entries or resolve several holds lock their account rows before writing any, in code
order -- the order ledger.post_entry takes its rows in -- so that they never deadlock with each other or with single
postings (a deadlock is found only after deadlock_timeout, 1 s, and every caller queued behind it waits as long).

Each test holds account b in another transaction, starts a request whose work names the accounts against code order
(c and d first, then a and b), waits until the request waits for b, and asks which rows are locked: a (before b in
code order) must be, c and d (after it) must not. Taken in the request's own order, c and d would already be locked:
the half of a deadlock with anyone who locks d and then b. The account table's physical order is d, c, b, a and
large enough (and analyzed) for a join to hash the request's accounts and scan the table in that order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from dualbook import Ledger, credit, debit

CODES = ["d", "c", "b", "a"] + [f"x:{i:02d}" for i in range(60)]


def legs(dr: str, cr: str) -> list[dict[str, Any]]:
    return [{"account": dr, "amount": 5, "currency": "USD"}, {"account": cr, "amount": -5, "currency": "USD"}]


def setup_accounts(db_url: str) -> None:
    with Ledger.connect(db_url, min_size=1, max_size=1) as lg:
        for code in CODES:
            lg.create_account(code, "USD", "asset")
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("ANALYZE ledger_private.account")


def locked_while_waiting_for_b(
    db_url: str, app_url: str, request: Callable[[psycopg.Connection[Any]], object]
) -> dict[str, bool]:
    """Runs ``request`` (in a SERIALIZABLE transaction, as the app) while b is held elsewhere; returns which of a, c, d
    it had locked when it waited for b. The request then completes and commits."""
    pid: list[int] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(app_url, autocommit=True) as c:
                pid.append(c.info.backend_pid)
                c.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                request(c)
                c.execute("COMMIT")
        except BaseException as e:  # reported by the test, not lost in the thread
            failure.append(e)

    with psycopg.connect(db_url, autocommit=True) as holder, psycopg.connect(db_url, autocommit=True) as probe:
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM ledger_private.account WHERE code = 'b' FOR NO KEY UPDATE")
        th = threading.Thread(target=run)
        th.start()
        deadline = time.monotonic() + 5
        waiting = False
        while not waiting and time.monotonic() < deadline and th.is_alive():
            if pid:
                row = probe.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid[0]]).fetchone()
                waiting = row is not None and row[0] == "Lock"
            time.sleep(0.01)
        probe.execute("BEGIN")
        locked = {
            code: probe.execute(
                "SELECT code FROM ledger_private.account WHERE code = %s FOR NO KEY UPDATE SKIP LOCKED", [code]
            ).rowcount
            == 0
            for code in "acd"
        }
        probe.execute("ROLLBACK")
        holder.execute("COMMIT")
        th.join()
    assert not failure, failure
    assert waiting, "the request never waited for account b"
    return locked


@pytest.mark.parametrize("path", ["set", "per-entry"])
def test_post_entries(db_url: str, app_url: str, path: str) -> None:
    setup_accounts(db_url)
    entries = [{"key": f"{path}:{i}", "legs": legs(dr, cr)} for i, (dr, cr) in enumerate(["cd", "ab", "dc", "ba"])]
    statuses: list[object] = []

    def request(c: psycopg.Connection[Any]) -> None:
        c.execute("SELECT set_config('dualbook.post_entries_path', %s, true)", [path])
        statuses.extend(r[0] for r in c.execute("SELECT status FROM ledger.post_entries(%s)", [Jsonb(entries)]))

    assert locked_while_waiting_for_b(db_url, app_url, request) == {"a": True, "c": False, "d": False}
    assert statuses == ["posted"] * 4


def test_hold_requests(db_url: str, app_url: str) -> None:
    setup_accounts(db_url)
    with Ledger.connect(db_url, min_size=1, max_size=1) as lg:  # two holds to capture, named d-c and b-a
        first = lg.hold("h:dc", [debit("d", 7, "USD"), credit("c", 7, "USD")]).hold_id
        second = lg.hold("h:ba", [debit("b", 7, "USD"), credit("a", 7, "USD")]).hold_id
    requests = [
        {"op": "hold", "key": "h:cd", "legs": legs("c", "d")},
        {"op": "capture", "key": "cap:dc", "hold_id": first},
        {"op": "hold", "key": "h:ab", "legs": legs("a", "b")},
        {"op": "void", "key": "void:ba", "hold_id": second},
    ]
    statuses: list[object] = []

    def request(c: psycopg.Connection[Any]) -> None:
        statuses.extend(r[0] for r in c.execute("SELECT status FROM ledger.hold_requests(%s)", [Jsonb(requests)]))

    assert locked_while_waiting_for_b(db_url, app_url, request) == {"a": True, "c": False, "d": False}
    assert statuses == ["held", "posted", "held", "voided"]


def test_expire_holds(db_url: str, app_url: str) -> None:
    setup_accounts(db_url)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    with Ledger.connect(db_url, min_size=1, max_size=1) as lg:  # the sweeper takes them by expiry: c-d first
        lg.hold("h:cd", [debit("c", 7, "USD"), credit("d", 7, "USD")], expires_at=soon)
        lg.hold("h:ab", [debit("a", 7, "USD"), credit("b", 7, "USD")], expires_at=soon + timedelta(milliseconds=100))
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.3)
    swept: list[int] = []

    def request(c: psycopg.Connection[Any]) -> None:
        swept.append(c.execute("SELECT ledger.expire_holds()").fetchone()[0])  # type: ignore[index]

    assert locked_while_waiting_for_b(db_url, app_url, request) == {"a": True, "c": False, "d": False}
    assert swept == [2]
