"""The read path on a real streaming replica: reads equal the primary's, read-your-writes, the staleness bound,
a stopped replica, and trial balances that net to zero while the primary takes writes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from dualbook import AsyncLedger, Ledger, calls, credit, debit
from dualbook import errors as E
from dualbook.calls import Call
from dualbook.cli import main
from dualbook.db import roles
from dualbook.reads import ReadPolicy
from dualbook.retry import RetryPolicy
from dualbook.testing import ReplicaPair

WHO_AM_I = Call(
    "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only'), "
    "pg_is_in_recovery(), current_user::text",
    (),
    lambda rows: tuple(rows[0]),
    write=False,
)


@pytest.fixture
def books(replica_urls: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """A ledger with accounts in two currencies and a few entries, posted on the primary as the app."""
    url, replica_url = replica_urls
    with Ledger.connect(roles.url_as(url, roles.APP), max_size=2) as app:
        app.create_account("bank", "USD", "asset")
        app.create_account("eur:bank", "EUR", "asset")
        app.create_account("eur:wallet", "EUR", "liability")
        for i in range(1, 6):
            app.create_account(f"wallet:{i}", "USD", "liability", lower_limit=0)
            app.post_entry(f"topup:{i}", [debit("bank", 100 * i, "USD"), credit(f"wallet:{i}", 100 * i, "USD")])
        app.post_entry("eur:1", [debit("eur:bank", 7, "EUR"), credit("eur:wallet", 7, "EUR")], description="é")
    yield url, replica_url


@contextlib.contextmanager
def replay_paused(pair: ReplicaPair) -> Iterator[None]:
    """The replica's WAL replay paused (it still receives), resumed afterwards."""
    with psycopg.connect(pair.replica.url("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")


def _all_reads(lg: Ledger) -> dict[str, Any]:
    entry = lg.get_entry(key="eur:1")
    return {
        "balances": [lg.get_balance(code) for code in ("bank", "wallet:3", "eur:wallet")],
        "entry": entry,
        "entry_by_id": lg.get_entry(entry.entry_id),
        "currency": lg.get_currency("EUR"),
        "currencies": lg.currencies(),
        "accounts": lg.list_accounts(),
        "wallets": lg.list_accounts(prefix="wallet:", limit=3),
        "trial_balance": lg.trial_balance(),
        "books_check": lg.books_check(),
        **_all_reports(lg, entry.entry_id),
    }


def _all_reports(lg: Ledger, entry_id: int) -> dict[str, Any]:
    """The reports by effective date, without their snapshots (which say where each was read)."""
    today = datetime.now(UTC).date()
    month = today.replace(day=1)
    return {
        "balance_as_of": replace(lg.balance_as_of("wallet:3", today), snapshot=None),
        "balance_before": replace(lg.balance_as_of("wallet:3", today - timedelta(days=1)), snapshot=None),
        "balance_as_recorded": replace(lg.balance_as_recorded("bank", entry_id=entry_id), snapshot=None),
        "statement": [replace(p, snapshot=None) for p in lg.statement_pages("bank", month, today, limit=2)],
        "trial_balance_as_of": replace(lg.trial_balance_as_of(today), snapshot=None),
        "month_end": replace(lg.month_end_report(month, today), snapshot=None),
        "closed_through": lg.closed_through(),
    }


@pytest.mark.parametrize("role", [roles.APP, roles.READER])
def test_every_read_method_on_the_replica_equals_the_primary(
    books: tuple[str, str], replica_pair: ReplicaPair, role: str
) -> None:
    """As the application role and as the reader: every read method through the replica gives what it gives on
    the primary once the replica has caught up, in REPEATABLE READ READ ONLY transactions on the standby."""
    url, replica_url = books
    replica_pair.wait()
    with (
        Ledger.connect(roles.url_as(url, role), max_size=2) as primary,
        Ledger.connect(roles.url_as(url, role), max_size=2, read_url=roles.url_as(replica_url, role)) as replica,
    ):
        on_primary, on_replica = _all_reads(primary), _all_reads(replica)
        assert on_replica == on_primary
        assert on_replica["trial_balance"] == [("EUR", 7, 7, 0), ("USD", 1500, 1500, 0)]
        assert on_replica["books_check"] == []
        assert on_replica["balance_as_of"].balance == 300 and on_replica["balance_before"].postings == 0
        assert len(on_replica["statement"]) == 3  # 5 top-ups on bank, 2 lines a page
        assert all(row.net == 0 for row in on_replica["trial_balance_as_of"].rows)
        today = datetime.now(UTC).date()
        assert replica.month_end_report(today.replace(day=1), today).snapshot.source == "replica"  # type: ignore[union-attr]
        assert primary.trial_balance_as_of(today).snapshot.source == "primary"  # type: ignore[union-attr]
        assert replica.read(WHO_AM_I)[0] == ("repeatable read", "on", True, role)
        assert primary.read(WHO_AM_I)[0] == ("serializable", "on", False, role)
        _, snap = replica.read(calls.trial_balance())
        _, psnap = primary.read(calls.trial_balance())
        assert (snap.source, psnap.source) == ("replica", "primary")
        assert snap.at is not None and psnap.at is not None
        assert _lsn(snap.lsn) <= _lsn(psnap.lsn)
        # get_outcome resolves writes: it asks the primary, whatever the read target
        assert replica.get_outcome("topup:1").status == "posted"


def _lsn(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def test_a_hot_standby_refuses_the_serializable_sessions_writes_use(books: tuple[str, str]) -> None:
    """Why reads need their own sessions: the write pool's SERIALIZABLE default fails on a standby (0A000)."""
    _, replica_url = books
    with (
        Ledger.connect(roles.url_as(replica_url, roles.READER), max_size=1) as wrong,
        pytest.raises(psycopg.errors.FeatureNotSupported, match="serializable"),
    ):
        wrong.get_balance("bank")


def test_read_your_writes_a_post_then_an_immediate_read_sees_it(books: tuple[str, str]) -> None:
    url, replica_url = books
    with Ledger.connect(roles.url_as(url, roles.APP), read_url=roles.url_as(replica_url, roles.APP)) as lg:
        for i in range(1, 31):
            posted = lg.post_entry(f"pay:{i}", [debit("bank", 1, "USD"), credit("wallet:1", 1, "USD")])
            assert lg.get_balance("wallet:1").balance == 100 + i
            assert lg.get_entry(posted.entry_id).idempotency_key == f"pay:{i}"
            (tb, snap) = lg.read(calls.trial_balance())
            assert snap.source == "replica" and tb[1] == ("USD", 1500 + i, 1500 + i, 0)


def test_a_paused_replica_gives_replica_lagging_never_a_stale_answer(
    books: tuple[str, str], replica_pair: ReplicaPair
) -> None:
    url, replica_url = books
    app_url, read_url = roles.url_as(url, roles.APP), roles.url_as(replica_url, roles.APP)
    with Ledger.connect(app_url, read_url=read_url, read_policy=ReadPolicy(timeout=0.3)) as lg:
        replica_pair.wait()
        with replay_paused(replica_pair):
            lg.post_entry("late", [debit("bank", 5, "USD"), credit("wallet:2", 5, "USD")])
            started = time.monotonic()
            with pytest.raises(E.ReplicaLagging) as caught:
                lg.get_balance("wallet:2")
            assert 0.3 <= time.monotonic() - started < 5
            assert caught.value.context["lag_bytes"] > 0 and caught.value.context["waited"] >= 0.3
            # a staleness bound in bytes or seconds refuses it too
            time.sleep(0.3)
            for policy in (
                ReadPolicy(read_your_writes=False, max_lag_bytes=0, timeout=0.1),
                ReadPolicy(read_your_writes=False, max_lag=0.2, timeout=0.1),
            ):
                with pytest.raises(E.ReplicaLagging):
                    lg.read(calls.get_balance("wallet:2"), policy)
            # asked for, the primary answers instead, and says so
            balance, snap = lg.read(calls.get_balance("wallet:2"), ReadPolicy(timeout=0.1, fallback=True))
            assert (balance.balance, snap.source) == (205, "primary")
            # no bound asked: the replica's older answer, with the older position it reflects
            stale, old = lg.read(calls.get_balance("wallet:2"), ReadPolicy(read_your_writes=False))
            assert (stale.balance, old.source) == (200, "replica")
            assert _lsn(old.lsn) < _lsn(snap.lsn)
        # resumed: the replica catches up and the same read succeeds
        assert lg.get_balance("wallet:2").balance == 205


def test_a_stopped_replica_gives_replica_unavailable(books: tuple[str, str], replica_pair: ReplicaPair) -> None:
    url, replica_url = books
    app_url, read_url = roles.url_as(url, roles.APP), roles.url_as(replica_url, roles.APP)
    with Ledger.connect(app_url, read_url=read_url, read_policy=ReadPolicy(timeout=1.0)) as lg:
        assert lg.get_balance("bank").balance == 1500  # the pool holds a replica connection
        assert replica_pair.replica.stop()
        try:
            started = time.monotonic()
            with pytest.raises(E.ReplicaUnavailable):
                lg.trial_balance()
            assert time.monotonic() - started < 15
            tb, snap = lg.read(calls.trial_balance(), ReadPolicy(timeout=0.5, fallback=True))
            assert snap.source == "primary" and tb[1] == ("USD", 1500, 1500, 0)
        finally:
            replica_pair.replica.start()
        replica_pair.wait()
        assert lg.read(calls.trial_balance())[1].source == "replica"


def test_trial_balances_on_the_replica_net_to_zero_while_the_primary_takes_writes(
    books: tuple[str, str],
) -> None:
    """Every snapshot on the standby is a prefix of committed transactions: whatever it catches, the books
    balance; the positions the reads reflect never go backwards."""
    url, replica_url = books
    stop = threading.Event()
    posted = [0, 0]
    failures: list[BaseException] = []

    def write(k: int) -> None:
        # each writer its own accounts: the test is about the reads, not about write conflicts (their account
        # rows can still share a heap or index page, whose SSI conflicts a loaded machine can make persistent:
        # the writers retry longer than the default ten attempts)
        try:
            retry = RetryPolicy(max_attempts=100)
            with Ledger.connect(roles.url_as(url, roles.APP), max_size=1, retry=retry) as w:
                w.create_account(f"load:bank:{k}", "USD", "asset")
                w.create_account(f"load:wallet:{k}", "USD", "liability")
                i = 0
                while not stop.is_set():
                    i += 1
                    n = 1 + i % 7
                    w.post_entry(
                        f"load:{k}:{i}", [debit(f"load:bank:{k}", n, "USD"), credit(f"load:wallet:{k}", n, "USD")]
                    )
                    posted[k] = i
        except BaseException as exc:
            failures.append(exc)
            raise

    writers = [threading.Thread(target=write, args=(k,)) for k in range(2)]
    for t in writers:
        t.start()
    reads, positions, totals = 0, [], set()
    policy = ReadPolicy(read_your_writes=False)
    try:
        with Ledger.connect(roles.url_as(url, roles.READER), read_url=roles.url_as(replica_url, roles.READER)) as r:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                tb, snap = r.read(calls.trial_balance(), policy)
                for currency, debits, credits, net in tb:
                    assert debits == credits and net == 0, (currency, debits, credits, net, snap)
                totals.add(tb[1][1])
                positions.append(_lsn(snap.lsn))
                reads += 1
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert not failures
    assert min(posted) > 10 and reads > 10
    assert len(totals) > 1, "the replica never showed the primary's writes"
    assert positions == sorted(positions)


def test_async_ledger_reads_the_replica(books: tuple[str, str]) -> None:
    url, replica_url = books

    async def main() -> None:
        async with await AsyncLedger.connect(
            roles.url_as(url, roles.APP), read_url=roles.url_as(replica_url, roles.APP)
        ) as lg:
            await lg.post_entry("async:1", [debit("bank", 3, "USD"), credit("wallet:4", 3, "USD")])
            assert (await lg.get_balance("wallet:4")).balance == 403
            tb, snap = await lg.read(calls.trial_balance())
            assert snap.source == "replica" and tb[1] == ("USD", 1503, 1503, 0)
            assert (await lg.read(WHO_AM_I))[0][:3] == ("repeatable read", "on", True)
            assert await lg.books_check() == []

    asyncio.run(main())


def test_bench_point_r_runs_the_report_on_the_replica_and_on_the_primary(
    replica_urls: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dualbook bench --points I` against a server and its replica (DATABASE_URL, DUALBOOK_READ_URL): I1 and I2
    are ratios of I0, and each loop read where it should, finding the books balanced every time."""
    url, replica_url = replica_urls
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DUALBOOK_READ_URL", replica_url)
    out = tmp_path / "results"
    args = ["bench", "--seconds", "1", "--accounts", "200", "--clients", "2", "--points", "I", "--out", str(out)]
    r = CliRunner().invoke(main, [*args, "--skip-scale"])
    assert r.exit_code == 0, r.output
    assert "I1 / I0 (reports on the replica): target" in r.stdout
    workloads = {w["name"]: w for w in json.loads((out / "bench-results.json").read_text())["workloads"]}
    assert [n for n in workloads if n.startswith("I")] == ["I0", "I1", "I2"]
    assert (workloads["I1"]["ratio_of"], workloads["I2"]["ratio_of"]) == ("I0", "I0")
    for name, source in (("I1", "replica"), ("I2", "primary")):
        extras = workloads[name]["extras"]
        assert extras["report_sources"] == [source] and extras["reports"] >= 1, extras
        assert extras["report_violations"] == 0 and workloads[name]["failed"] == 0
    for name in ("I0", "I1", "I2"):  # how far replay fell behind during each phase, sampled
        assert workloads[name]["extras"]["replay_lag_max_bytes"] >= 0
