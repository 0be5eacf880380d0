"""What the application role can hold against the others (docs/security.md §7): it cannot stop the sequencer by
holding a deferred account's row, cannot take the sequencer's or the sealer's lock, cannot take the connections
the operations roles need, and cannot make close_account wait forever. A busy worker is reported (exit 8)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from dualbook import Ledger, credit, debit
from dualbook.cli import main
from dualbook.cli.common import EXIT_BUSY
from dualbook.db import roles
from dualbook.db.cluster import Cluster

OPERATIONS = ("dualbook_sequencer", "dualbook_auditor", "dualbook_migrator", "dualbook_reader")


@pytest.fixture
def app(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=2) as lg:
        lg.create_account("cash", "USD", "asset")
        lg.create_account("hot", "USD", "liability", deferred=True)
        lg.create_account("dz", "USD", "liability", deferred=True)
        yield lg


def _app_session(app_url: str) -> psycopg.Connection:
    conn = psycopg.connect(app_url)
    conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    conn.execute("SET idle_in_transaction_session_timeout = 0")  # the app may: it is user-settable
    return conn


def test_an_open_transaction_on_a_deferred_account_does_not_stop_the_sequencer(
    app: Ledger, app_url: str, sequencer_url: str
) -> None:
    """The app queues two legs on its own deferred account 'dz' (net zero), closes it in a transaction it leaves
    open, and so holds the row. The sequencer skips 'dz' at once and folds the others; balances stay exact."""
    app.post_entry("d1", [debit("cash", 5, "USD"), credit("dz", 5, "USD")])
    app.post_entry("d2", [debit("dz", 5, "USD"), credit("cash", 5, "USD")])
    app.post_entry("h1", [debit("cash", 7, "USD"), credit("hot", 7, "USD")])
    holder = _app_session(app_url)
    try:
        holder.execute("SELECT ledger.close_account('dz')")  # row-locked until this transaction ends
        with psycopg.connect(sequencer_url, autocommit=True) as seq:
            t0 = time.monotonic()
            folded = seq.execute("SELECT ledger.sequence_deferred()").fetchone()
            took = time.monotonic() - t0
        assert folded == (1,), "hot's leg is folded, dz's two legs are skipped"
        assert took < 2.0, f"the sequencer waited {took:.2f} s for a row the app holds"
        assert app.get_balance("hot").balance == 7
        assert app.get_balance("dz").balance == 0
    finally:
        holder.commit()
        holder.close()
    with psycopg.connect(sequencer_url, autocommit=True) as seq:
        assert seq.execute("SELECT ledger.sequence_deferred()").fetchone() == (2,)
    assert app.get_balance("dz").status == "closed"
    assert app.books_check() == []


def test_the_app_cannot_take_the_workers_locks(app: Ledger, app_url: str, sequencer_url: str) -> None:
    app.post_entry("h1", [debit("cash", 7, "USD"), credit("hot", 7, "USD")])
    with psycopg.connect(app_url, autocommit=True) as hostile:
        hostile.execute("SELECT pg_advisory_lock(hashtext('dualbook.sequence_deferred'))")
        hostile.execute("SELECT pg_advisory_lock(hashtext('dualbook.seal_journal'))")
        with psycopg.connect(sequencer_url, autocommit=True) as seq:
            assert seq.execute("SELECT ledger.sequence_deferred()").fetchone() == (1,)
            assert seq.execute("SELECT status FROM ledger.seal_journal()").fetchone() == ("sealed",)
        for sql in (
            "SELECT 1 FROM ledger_private.worker_lock FOR UPDATE",
            "SELECT 1 FROM ledger_private.worker_lock FOR KEY SHARE",
            "LOCK TABLE ledger_private.worker_lock IN ACCESS SHARE MODE",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), hostile.transaction():
                hostile.execute(sql)


def test_a_busy_worker_exits_8_with_a_hint(app: Ledger, sequencer_url: str, role_env: dict[str, str]) -> None:
    """Only another sequencer-role session can hold the lock now; a one-shot run reports it and exits 8, and a
    drain gives up after --wait instead of polling forever."""
    app.post_entry("h1", [debit("cash", 7, "USD"), credit("hot", 7, "USD")])
    env = {k: v for k, v in role_env.items() if k != "DUALBOOK_MIGRATOR_URL"}
    with psycopg.connect(sequencer_url) as other:  # a pass whose transaction is still open
        other.execute("SELECT ledger.sequence_deferred()")
        other.execute("SELECT * FROM ledger.seal_journal()")
        t0 = time.monotonic()
        r = CliRunner().invoke(main, ["sequencer", "--wait", "0.3"], env=env)
        assert r.exit_code == EXIT_BUSY, r.output
        assert time.monotonic() - t0 < 5
        assert "busy" in r.stderr and "hint:" in r.stderr
        r = CliRunner().invoke(main, ["audit", "seal"], env=env)
        assert r.exit_code == EXIT_BUSY, r.output
        assert "another sealer is running; nothing done" in r.stderr and "hint:" in r.stderr
        other.rollback()
    r = CliRunner().invoke(main, ["sequencer", "--wait", "0.3"], env=env)
    assert r.exit_code == 0, r.output
    assert "sequenced 1 leg(s); the queue is empty" in r.stdout


def test_close_account_waits_at_most_2_s_whatever_the_session_sets(app: Ledger, app_url: str, db_url: str) -> None:
    with psycopg.connect(db_url) as holder:
        holder.execute("SELECT 1 FROM ledger_private.account WHERE code = 'dz' FOR UPDATE")
        with _app_session(app_url) as conn:
            conn.execute("SET lock_timeout = 0")
            t0 = time.monotonic()
            with pytest.raises(psycopg.errors.LockNotAvailable):
                conn.execute("SELECT ledger.close_account('dz')")
            assert time.monotonic() - t0 < 4.5


@pytest.mark.parametrize(
    "call",
    [
        "SELECT ledger.post_entry('p:2', %s)",
        "SELECT * FROM ledger.post_entries(jsonb_build_array(jsonb_build_object('key', 'p:2', 'legs', %s::jsonb)))",
        "SELECT ledger.reverse_entry(1, 'p:r')",
    ],
)
def test_a_posting_waits_at_most_2_s_for_a_row_the_app_holds(app: Ledger, app_url: str, call: str) -> None:
    """An application transaction left open after posting holds the account rows it updated; a posting of another
    session that sets lock_timeout = 0 still fails with 55P03 after 2 s instead of waiting (without the pin it would
    wait until this test's statement_timeout of 6 s: 57014, a failure here)."""
    legs = Jsonb([debit("cash", 5, "USD").as_json(), credit("hot", 5, "USD").as_json()])
    app.post_entry("p:1", [debit("cash", 5, "USD"), credit("hot", 5, "USD")])
    with _app_session(app_url) as holder:
        holder.execute("SELECT ledger.post_entry('p:h', %s)", (legs,))  # holds cash's row, uncommitted
        with _app_session(app_url) as conn:
            conn.execute("SET lock_timeout = 0")
            conn.execute("SET statement_timeout = '6s'")
            t0 = time.monotonic()
            with pytest.raises(psycopg.errors.LockNotAvailable):
                conn.execute(call, (legs,) if "%s" in call else ())
            assert 1.5 < time.monotonic() - t0 < 4.5


def test_every_login_role_has_a_connection_limit_with_headroom(db_url: str) -> None:
    with psycopg.connect(db_url) as c:
        limits = dict(c.execute("SELECT rolname, rolconnlimit FROM pg_roles WHERE rolname LIKE 'dualbook%'").fetchall())
        available = c.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
        ).fetchone()
    assert available is not None
    assert all(limits[r] > 0 for r in (roles.APP, *OPERATIONS))
    assert limits[roles.APP] + sum(limits[r] for r in OPERATIONS) <= available[0]


def test_the_app_at_its_limit_leaves_the_operations_roles_room(
    cluster: Cluster, db_url: str, app_url: str, sequencer_url: str, auditor_url: str
) -> None:
    """At its connection limit the app is refused (53300) and the sequencer and the auditor still connect. The
    limit is lowered for the test (roles are the cluster's: restored at once)."""
    with psycopg.connect(db_url, autocommit=True) as admin:
        (saved,) = admin.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", [roles.APP]).fetchone() or (
            -1,
        )
        held = [psycopg.connect(app_url) for _ in range(2)]  # other tests' pools may hold app sessions too
        try:
            (in_use,) = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [roles.APP]
            ).fetchone() or (0,)
            admin.execute(f"ALTER ROLE {roles.APP} CONNECTION LIMIT {int(in_use)}")
            with pytest.raises(psycopg.OperationalError, match="too many connections"):
                psycopg.connect(app_url).close()
            for url in (sequencer_url, auditor_url):
                with psycopg.connect(url) as c:
                    assert c.execute("SELECT 1").fetchone() == (1,)
        finally:
            admin.execute(f"ALTER ROLE {roles.APP} CONNECTION LIMIT {int(saved)}")
            for c in held:
                c.close()


def test_drain_deferred_gives_up_on_a_held_lock(app: Ledger, sequencer_url: str) -> None:
    """The library's drain waits a bounded time for another sequencer run, then says so (WorkerBusy)."""
    from dualbook import errors as E

    app.post_entry("h2", [debit("cash", 7, "USD"), credit("hot", 7, "USD")])
    with psycopg.connect(sequencer_url) as other, Ledger.connect(sequencer_url, max_size=1) as seq:
        other.execute("SELECT ledger.sequence_deferred()")  # its transaction, and the lock, stay open
        t0 = time.monotonic()
        with pytest.raises(E.WorkerBusy, match="held the lock"):
            seq.drain_deferred(timeout=0.3)
        assert time.monotonic() - t0 < 5
        other.rollback()
        assert seq.drain_deferred(timeout=5) == 1
