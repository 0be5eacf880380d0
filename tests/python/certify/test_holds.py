"""Holds under contention: many callers place holds on a few wallets with a no-overdraft limit (each hold expiring
within about a second), capture them (in full or in part), void them, run the expiry sweeper and post ordinary
payments and top-ups on the same wallets, while a reader checks snapshot after snapshot that no wallet's available
balance (posted balance minus what its outstanding holds take away) is below its limit. A resolved hold is now and
then resolved again -- with the same key (a replay) and with another key (refused with its own error).

At the end, after every hold's expiry and the sweep: every hold has exactly one resolution, the one the callers were
told (captured with the amount acknowledged, voided, or expired -- whether a caller met the expiry or nobody touched
the hold); nothing stays reserved (every account's hold counters are zero, no pending amount); every acknowledged
capture and posting is in the journal exactly once, as acknowledged, and nothing else is (a complete record); the
books check and the audit chain verify clean.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg

from dualbook import Ledger, RetryPolicy, credit, debit
from dualbook import errors as E
from dualbook.audit.journal import seal_pass, verify_database
from dualbook.tools.certify import AckRecord, Certification

from .profile import PROFILE

WALLETS = [f"wallet:{i}" for i in range(4)]
MERCHANTS = [f"merchant:{i}" for i in range(3)]
SEED = 5_000
#: holds expire between these many seconds after they are placed
EXPIRY = (0.3, 1.2)
T = TypeVar("T")


@dataclass
class HoldRecord:
    """What the callers know of one hold: placed on ``wallet`` for ``amount``; ``resolution`` as they were told:
    ``None`` (never resolved by a caller), ``captured`` (with ``captured``), ``voided`` or ``expired``."""

    key: str
    wallet: str
    merchant: str
    amount: int
    expires_at: datetime
    resolution: str | None = None
    captured: int | None = None


def snapshot_violations(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """In one REPEATABLE READ snapshot: accounts whose available balance is below their lower limit (or above the
    upper one). The holds outstanding are those of a moment after the snapshot was taken (``clock_timestamp()`` in
    the transaction's second statement): ``now()`` is the transaction's start, earlier than its snapshot, and a
    posting that committed in between may already have used what a hold expiring in between reserved."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute("SELECT count(*) FROM ledger.accounts")  # the snapshot
        rows = conn.execute(
            """SELECT a.code || ': available ' || x.available || ', limits ' || coalesce(a.lower_limit::text, '-')
                      || '..' || coalesce(a.upper_limit::text, '-')
                 FROM ledger.accounts AS a
                 LEFT JOIN ledger.pending_as_of(clock_timestamp()) AS p ON p.code = a.code
                 CROSS JOIN LATERAL (
                      SELECT a.balance - coalesce(CASE a.normal_side WHEN 'debit' THEN p.pending_credit
                                                                      ELSE p.pending_debit END, 0) AS available
                      ) AS x
                WHERE x.available < a.lower_limit OR x.available > a.upper_limit"""
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_holds_under_contention(db_url: str, certification: Certification) -> None:
    callers, ops = PROFILE.holds_callers, PROFILE.holds_ops
    patient = RetryPolicy(max_attempts=500, base_delay=0.001, max_delay=0.05)
    lock = threading.Lock()
    holds: dict[int, HoldRecord] = {}
    acks: dict[str, AckRecord] = {}
    refused: set[str] = set()
    unknown: set[str] = set()
    counts: dict[str, int] = {}
    errors: list[BaseException] = []
    violations: list[str] = []
    snapshots = 0
    done = threading.Event()

    def count(name: str) -> None:
        with lock:
            counts[name] = counts.get(name, 0) + 1

    title = f"holds ({callers} callers, {len(WALLETS)} limited wallets, expiries within {EXPIRY[1]} s)"
    with certification.scenario(title) as row:
        with Ledger.connect(db_url, min_size=callers, max_size=callers, retry=patient) as lg:
            lg.create_account("bank", "USD", "asset")
            for m in MERCHANTS:
                lg.create_account(m, "USD", "liability")
            for w in WALLETS:
                lg.create_account(w, "USD", "liability", lower_limit=0)
                legs = [debit("bank", SEED, "USD"), credit(w, SEED, "USD")]
                acks[f"seed:{w}"] = AckRecord.of(lg.post_entry(f"seed:{w}", legs), legs)
            start = threading.Barrier(callers + 1)

            def resend(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
                """A call, sent again (same key) after a lock wait the function cut short (55P03, lock_timeout
                pinned at 2 s): the transaction was rolled back, so the request is simply made again."""
                while True:
                    try:
                        return fn(*args, **kwargs)
                    except psycopg.errors.LockNotAvailable:
                        count("lock waits cut at 2 s (55P03), resent")

            def place(rnd: random.Random, key: str, mine: list[int]) -> None:
                wallet, merchant = rnd.choice(WALLETS), rnd.choice(MERCHANTS)
                amount = rnd.randint(50, 800)
                expires = datetime.now(UTC) + timedelta(seconds=rnd.uniform(*EXPIRY))
                try:
                    legs = [debit(wallet, amount, "USD"), credit(merchant, amount, "USD")]
                    r = resend(lg.hold, key, legs, expires_at=expires)
                except E.LimitExceeded:
                    count("holds refused (LD203)")
                    return
                except E.InvalidHoldRequest:  # retried past its expiry (refused, nothing written)
                    assert datetime.now(UTC) >= expires
                    count("holds expired before placed (LD120)")
                    return
                with lock:
                    holds[r.hold_id] = HoldRecord(key, wallet, merchant, amount, expires)
                mine.append(r.hold_id)
                count("holds placed")

            def resolve(rnd: random.Random, key: str, hold_id: int, capture: bool) -> None:
                h = holds[hold_id]
                amount = rnd.choice([None, rnd.randint(1, h.amount)]) if capture else None
                try:
                    if capture:
                        c = resend(lg.capture, hold_id, key, amount)
                        captured = h.amount if amount is None else amount
                        assert (c.amount, c.released) == (captured, h.amount - captured)
                        legs = [(h.wallet, captured, "USD"), (h.merchant, -captured, "USD")]
                        with lock:
                            acks[key] = AckRecord(c.entry_id, tuple(legs))
                            h.resolution, h.captured = "captured", captured
                        count("captured in full" if amount is None or amount == h.amount else "captured in part")
                    else:
                        v = resend(lg.void, hold_id, key)
                        assert v.released == {h.wallet: h.amount, h.merchant: -h.amount}
                        with lock:
                            h.resolution = "voided"
                        count("voided")
                except E.HoldExpired:
                    with lock:
                        h.resolution = "expired"
                    count("met the expiry (LD223)")
                    return
                if rnd.random() < 0.3:  # once resolved, for good: a replay, then another key
                    again = resend(lg.capture, hold_id, key, amount) if capture else resend(lg.void, hold_id, key)
                    assert not again.created
                    wrong = E.HoldAlreadyCaptured if capture else E.HoldVoided
                    try:
                        resend(lg.capture, hold_id, f"{key}:again")
                    except wrong:
                        count("second resolutions refused")
                    if capture:
                        try:
                            resend(lg.void, hold_id, f"{key}:void")
                        except E.HoldCapturedNotVoidable:
                            count("second resolutions refused")

            def caller(c: int) -> None:
                rnd = random.Random(c)
                mine: list[int] = []
                start.wait()
                for j in range(ops):
                    op = rnd.random()
                    if op < 0.4 or not mine:
                        place(rnd, f"h:{c}:{j}", mine)
                    elif op < 0.65:
                        resolve(rnd, f"cap:{c}:{j}", mine.pop(rnd.randrange(len(mine))), capture=True)
                    elif op < 0.8:
                        resolve(rnd, f"void:{c}:{j}", mine.pop(rnd.randrange(len(mine))), capture=False)
                    elif op < 0.85:
                        n = resend(lg.expire_holds, max_holds=rnd.choice([1, 5, 100]))
                        with lock:
                            counts["expiries recorded by callers"] = counts.get("expiries recorded by callers", 0) + n
                    else:
                        wallet = rnd.choice(WALLETS)
                        amount = rnd.randint(50, 1_500)
                        if rnd.random() < 0.5:  # a top-up
                            key, legs = f"top:{c}:{j}", [("bank", amount, "USD"), (wallet, -amount, "USD")]
                        else:  # a payment out of the wallet, refused when its available balance is short
                            key, legs = f"pay:{c}:{j}", [(wallet, amount, "USD"), ("bank", -amount, "USD")]
                        try:
                            r = resend(
                                lg.post_entry, key, [{"account": a, "amount": n, "currency": u} for a, n, u in legs]
                            )
                        except E.LimitExceeded:
                            with lock:
                                refused.add(key)
                            count("postings refused (LD203)")
                            continue
                        except E.RetriesExhausted:
                            with lock:
                                unknown.add(key)
                            continue
                        with lock:
                            acks[key] = AckRecord.of(r, legs)
                        count("postings")

            def guarded(c: int) -> None:
                try:
                    caller(c)
                except BaseException as exc:
                    with lock:
                        errors.append(exc)

            def reader() -> None:
                nonlocal snapshots
                try:
                    with psycopg.connect(db_url, autocommit=True) as conn:
                        start.wait()
                        while not done.is_set():
                            found = snapshot_violations(conn)
                            with lock:
                                violations.extend(found)
                                snapshots += 1
                except BaseException as exc:
                    with lock:
                        errors.append(exc)

            threads = [threading.Thread(target=guarded, args=(c,)) for c in range(callers)]
            watcher = threading.Thread(target=reader)
            for t in [*threads, watcher]:
                t.start()
            for t in threads:
                t.join()
            done.set()
            watcher.join()
            assert not errors, errors[:3]

            # every hold has expired by now (or soon): the sweep records the rest, and then nothing is reserved
            latest = max(h.expires_at for h in holds.values())
            time.sleep(max(0.0, (latest - datetime.now(UTC)).total_seconds()) + 0.05)
            swept = 0
            while n := resend(lg.expire_holds, max_holds=50):
                swept += n
            with psycopg.connect(db_url, autocommit=True) as conn:
                assert snapshot_violations(conn) == []
                resolutions = {
                    hid: (kind, amount, n)
                    for hid, kind, amount, n in conn.execute(
                        "SELECT hold_id, min(kind), min(amount), count(*) FROM ledger_private.hold_resolution "
                        "GROUP BY hold_id"
                    )
                }
                reserved = conn.execute(
                    "SELECT code, held_debit, held_credit, held_until FROM ledger_private.account "
                    "WHERE held_debit <> 0 OR held_credit <> 0 OR held_until IS NOT NULL"
                ).fetchall()
                pending = conn.execute(
                    "SELECT x.code, x.pending_debit, x.pending_credit FROM ledger.accounts AS a, "
                    "ledger.get_available(a.code) AS x WHERE x.pending_debit <> 0 OR x.pending_credit <> 0"
                ).fetchall()
                placed = conn.execute("SELECT count(*) FROM ledger_private.hold").fetchone()
            stats = lg.stats
            assert lg.books_check() == []
            seal_pass(lg)
            audit = verify_database(lg)
            assert audit.ok, audit.findings

        row.transactions = stats.attempts
        for name, n in sorted(counts.items()):
            row.note(name, n)
        row.note("expiries recorded by the final sweep", swept)
        row.note("snapshots read", snapshots)
        row.note("serialization failures retried", stats.serialization_failures)
        assert violations == [], violations[:10]
        assert reserved == [] and pending == [], (reserved, pending)
        # exactly one resolution per hold, the one the callers were told
        assert placed == (len(holds),)
        wrong = []
        for hid, h in holds.items():
            expected = h.resolution or "expired"
            got = resolutions.get(hid)
            if got != (expected, h.captured if expected == "captured" else None, 1):
                wrong.append((hid, h, got))
        assert wrong == [], wrong[:10]
        # every acknowledged capture and posting once, as acknowledged, and nothing else in the journal
        row.verify(db_url, acks, unknown, refused=refused, complete=True, where="holds, end")
        assert not unknown, f"{len(unknown)} postings gave up after {patient.max_attempts} attempts"
        assert snapshots > 10, "the reader hardly read anything"
        for name in ("holds placed", "holds refused (LD203)", "captured in full", "captured in part", "voided"):
            assert counts.get(name, 0) > 0, (name, counts)
        assert swept + counts.get("expiries recorded by callers", 0) > 0, "no hold expired unresolved"
