"""Holds through the adapter, as the application role: hold, capture (in full and in part), void, expiry in real
time, the error classes, AsyncLedger; and holds under contention on limited wallets: at every snapshot no
wallet's available balance is below its limit, every hold is resolved at most once, and after the sweep nothing
stays reserved."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dualbook import AsyncLedger, Ledger, Leg, RetryPolicy, credit, debit
from dualbook import errors as E


@pytest.fixture
def ledger(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=8) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("merchant", "USD", "liability")
        for i in range(3):
            lg.create_account(f"wallet:{i}", "USD", "liability", lower_limit=0)
            lg.post_entry(f"fund:{i}", [debit("bank", 1000, "USD"), credit(f"wallet:{i}", 1000, "USD")])
        yield lg


def auth(wallet: str, amount: int, merchant: str = "merchant") -> list[Leg]:
    return [debit(wallet, amount, "USD"), credit(merchant, amount, "USD")]


def test_hold_capture_void_and_their_errors(ledger: Ledger) -> None:
    h = ledger.hold("auth:1", auth("wallet:0", 600), description="card", metadata={"card": "4242"})
    assert h.created and h.available["wallet:0"] == 400
    assert ledger.hold("auth:1", auth("wallet:0", 600), description="card", metadata={"card": "4242"}) == (
        type(h)(h.hold_id, False, h.recorded_at, None, {})
    )
    a = ledger.get_available("wallet:0")
    assert (a.balance, a.pending_debit, a.pending_credit, a.available) == (1000, 600, 0, 400)
    assert ledger.get_balance("wallet:0").balance == 1000

    # pending debits are in every balance check: a hold and a posting cannot together overdraw
    with pytest.raises(E.LimitExceeded) as exc:
        ledger.hold("auth:2", auth("wallet:0", 401))
    assert exc.value.recorded
    with pytest.raises(E.LimitExceeded):
        ledger.post_entry("spend:1", [debit("wallet:0", 401, "USD"), credit("bank", 401, "USD")])

    with pytest.raises(E.CaptureExceedsHold):
        ledger.capture(h.hold_id, "cap:1", 601)
    c = ledger.capture(h.hold_id, "cap:1", 250)
    assert (c.created, c.amount, c.released, c.balances) == (True, 250, 350, {"wallet:0": 750, "merchant": 250})
    again = ledger.capture(h.hold_id, "cap:1", 250)
    assert (again.created, again.entry_id) == (False, c.entry_id)
    with pytest.raises(E.HoldAlreadyCaptured):
        ledger.capture(h.hold_id, "cap:1b")
    with pytest.raises(E.HoldCapturedNotVoidable):
        ledger.void(h.hold_id, "void:1")
    got = ledger.get_hold(h.hold_id)
    assert (got.status, got.captured_amount, got.entry_id, got.metadata) == (
        "captured",
        250,
        c.entry_id,
        {"card": "4242"},
    )
    assert ledger.get_available("wallet:0").available == 750

    v = ledger.hold("auth:3", auth("wallet:0", 750))
    assert ledger.void(v.hold_id, "void:3").released == {"wallet:0": 750, "merchant": -750}
    assert ledger.void(v.hold_id, "void:3").created is False
    with pytest.raises(E.HoldVoided):
        ledger.capture(v.hold_id, "cap:3")
    with pytest.raises(E.UnknownHold):
        ledger.capture(10**9, "cap:x")
    with pytest.raises(E.InvalidHoldRequest):
        ledger.hold("auth:4", auth("wallet:0", 1), expires_at=datetime.now(UTC) - timedelta(seconds=1))
    three = [debit("bank", 10, "USD"), credit("merchant", 9, "USD"), credit("wallet:1", 1, "USD")]
    with pytest.raises(E.PartialCaptureNeedsTwoLegs):
        ledger.capture(ledger.hold("auth:5", three).hold_id, "cap:5", 5)


def test_hold_on_a_deferred_account_is_refused(ledger: Ledger) -> None:
    ledger.create_account("hot", "USD", "liability", deferred=True)
    with pytest.raises(E.HoldOnDeferredAccount) as exc:
        ledger.hold("auth:hot", [debit("bank", 5, "USD"), credit("hot", 5, "USD")])
    assert exc.value.recorded


def test_an_expired_hold_is_released_before_and_after_the_sweep(ledger: Ledger) -> None:
    h = ledger.hold("auth:exp", auth("wallet:1", 1000), expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert ledger.get_available("wallet:1").available == 0
    with pytest.raises(E.LimitExceeded):
        ledger.post_entry("spend:exp:1", [debit("wallet:1", 1, "USD"), credit("bank", 1, "USD")])
    time.sleep(1.5)
    # not swept yet: every read and limit check already treats it as released
    assert ledger.get_hold(h.hold_id).status == "expired"
    assert ledger.get_available("wallet:1").available == 1000
    ledger.post_entry("spend:exp:2", [debit("wallet:1", 1, "USD"), credit("bank", 1, "USD")])
    with pytest.raises(E.HoldExpired):
        ledger.capture(h.hold_id, "cap:exp")
    with pytest.raises(E.HoldExpired):
        ledger.void(h.hold_id, "void:exp")
    assert ledger.expire_holds() == 1
    assert ledger.expire_holds() == 0
    assert ledger.get_available("wallet:1").pending_debit == 0


def test_async_ledger_holds(app_url: str, ledger: Ledger) -> None:
    async def run() -> None:
        async with await AsyncLedger.connect(app_url, max_size=2) as lg:
            h = await lg.hold("aauth:1", auth("wallet:2", 300))
            assert (await lg.get_available("wallet:2")).available == 700
            c = await lg.capture(h.hold_id, "acap:1")
            assert (c.amount, c.released) == (300, 0)
            v = await lg.hold("aauth:2", auth("wallet:2", 100))
            assert (await lg.void(v.hold_id, "avoid:2")).created
            assert (await lg.get_hold(v.hold_id)).status == "voided"
            with pytest.raises(E.HoldVoided):
                await lg.capture(v.hold_id, "acap:2")
            assert await lg.expire_holds() == 0

    asyncio.run(run())


def snapshot_violations(db_url: str) -> list[str]:
    """In one snapshot: wallets whose available balance is below 0, holds resolved more than once, counters that
    disagree with the unresolved holds.

    The holds outstanding are those of a moment after the snapshot (``clock_timestamp()`` in the transaction's
    second statement): ``now()`` is the transaction's start, earlier than its snapshot, and a posting committed in
    between may already have used what a hold expiring in between reserved (docs/sql-api.md, holds)."""
    with psycopg.connect(db_url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            conn.execute("SELECT count(*) FROM ledger.accounts")  # the snapshot
            rows = conn.execute(
                """SELECT a.code || ': available ' || (a.balance - coalesce(p.pending_debit, 0))::text
                     FROM ledger.accounts AS a
                     LEFT JOIN ledger.pending_as_of(clock_timestamp()) AS p ON p.code = a.code
                    WHERE a.code LIKE 'wallet:%' AND a.balance - coalesce(p.pending_debit, 0) < 0
                   UNION ALL
                   SELECT 'hold ' || hold_id || ' resolved ' || count(*) FROM ledger_private.hold_resolution
                    GROUP BY hold_id HAVING count(*) > 1
                   UNION ALL
                   SELECT a.code || ': counters ' || a.held_debit || '/' || a.held_credit
                     FROM ledger_private.account AS a
                     LEFT JOIN LATERAL (
                          SELECT coalesce(sum(greatest(l.amount, 0)), 0) AS d,
                                 coalesce(sum(greatest(-l.amount, 0)), 0) AS c
                            FROM ledger_private.hold_leg AS l
                           WHERE l.account_id = a.account_id
                             AND NOT EXISTS (SELECT FROM ledger_private.hold_resolution AS r
                                              WHERE r.hold_id = l.hold_id)
                          ) AS u ON true
                    WHERE (a.held_debit, a.held_credit) <> (u.d, u.c)"""
            ).fetchall()
    return [r[0] for r in rows]


def test_holds_under_contention_never_overdraw(ledger: Ledger, db_url: str) -> None:
    """Six callers hold, capture, void and post on three limited wallets (each its own merchant, so the
    contention is on the wallets) while a checker reads snapshot after snapshot."""
    for n in range(6):
        ledger.create_account(f"merchant:{n}", "USD", "liability")
    ledger.retry = RetryPolicy(max_attempts=100)
    stop = threading.Event()
    violations: list[str] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def checker() -> None:
        while not stop.is_set():
            violations.extend(snapshot_violations(db_url))

    def worker(n: int) -> None:
        rng = random.Random(n)
        held: list[int] = []
        for i in range(40):
            wallet = f"wallet:{rng.randrange(3)}"
            op = rng.random()
            try:
                if op < 0.45 or not held:
                    expiry = datetime.now(UTC) + timedelta(seconds=rng.choice([1, 60]))
                    held.append(
                        ledger.hold(f"w{n}:h{i}", auth(wallet, rng.randint(50, 400)), expires_at=expiry).hold_id
                    )
                    kind = "held"
                elif op < 0.65:
                    hid = held.pop(rng.randrange(len(held)))
                    ledger.capture(hid, f"w{n}:c{i}", rng.choice([None, 10]))
                    kind = "captured"
                elif op < 0.8:
                    ledger.void(held.pop(rng.randrange(len(held))), f"w{n}:v{i}")
                    kind = "voided"
                else:
                    ledger.post_entry(f"w{n}:p{i}", [debit(wallet, 100, "USD"), credit("bank", 100, "USD")])
                    kind = "posted"
            except (E.LimitExceeded, E.HoldExpired, E.CaptureExceedsHold) as exc:
                kind = type(exc).__name__
            with lock:
                outcomes[kind] = outcomes.get(kind, 0) + 1

    check = threading.Thread(target=checker)
    check.start()
    crashed: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            worker(n)
        except BaseException as exc:  # any other error fails the test below, not just a warning
            crashed.append(exc)

    workers = [threading.Thread(target=guarded, args=(n,)) for n in range(6)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    check.join()
    assert crashed == []
    assert violations == [], violations[:10]
    assert outcomes.get("held", 0) > 20 and outcomes.get("LimitExceeded", 0) > 0, outcomes
    time.sleep(1.1)
    ledger.expire_holds()
    assert snapshot_violations(db_url) == []
    # after the sweep, only unexpired unresolved holds stay reserved; with them voided, nothing does
    with psycopg.connect(db_url, autocommit=True) as conn:
        open_ids = [
            r[0]
            for r in conn.execute(
                "SELECT hold_id FROM ledger_private.hold AS h WHERE NOT EXISTS "
                "(SELECT FROM ledger_private.hold_resolution AS r WHERE r.hold_id = h.hold_id)"
            )
        ]
    for hid in open_ids:
        ledger.void(hid, f"cleanup:{hid}")
    for i in range(3):
        a = ledger.get_available(f"wallet:{i}")
        assert (a.pending_debit, a.available) == (0, a.balance)
