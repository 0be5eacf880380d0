"""Least privilege in real sessions (docs/security.md): each role logged in as itself, with its resource limits;
a lock wait as the app ends with 55P03 within lock_timeout; the migrator deploys without being a superuser; a
revert of one database leaves the roles, and every other database, working."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

from dualbook import Ledger, credit, debit
from dualbook.cli import main
from dualbook.cli.common import EXIT_INFRASTRUCTURE
from dualbook.db import migrate, roles
from dualbook.db.cluster import Cluster
from dualbook.db.config import embedded_urls
from dualbook.testing import drop_database

from .sqlcheck import plpgsql_findings

APP_LIMITS = {"statement_timeout": "5s", "lock_timeout": "2s", "idle_in_transaction_session_timeout": "30s"}


@pytest.fixture
def app_ledger(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=2) as lg:
        lg.create_account("cash", "USD", "asset")
        lg.create_account("wallet", "USD", "liability", lower_limit=0)
        yield lg


def test_each_role_logs_in_with_its_limits(app_url: str, reader_url: str, sequencer_url: str) -> None:
    with psycopg.connect(app_url) as c:
        assert c.execute("SELECT current_user, session_user").fetchone() == (roles.APP, roles.APP)
        for name, value in APP_LIMITS.items():
            assert c.execute(f"SHOW {name}").fetchone() == (value,), name
    with psycopg.connect(reader_url) as c:
        assert c.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert c.execute("SHOW statement_timeout").fetchone() == ("5min",)
    with psycopg.connect(sequencer_url) as c:
        assert c.execute("SHOW statement_timeout").fetchone() == ("1min",)


def test_a_lock_wait_as_the_app_ends_with_55p03_within_lock_timeout(
    app_ledger: Ledger, db_url: str, app_url: str
) -> None:
    """A stuck client holds an account row; a posting to it waits lock_timeout (2 s), then fails with
    55P03 lock_not_available, and nothing of it remains."""
    app_ledger.post_entry("k1", [debit("cash", 100, "USD"), credit("wallet", 100, "USD")])
    stuck = psycopg.connect(db_url)  # holds the row, as a client that never commits would
    try:
        stuck.execute("SELECT 1 FROM ledger_private.account WHERE code = 'wallet' FOR UPDATE")
        with psycopg.connect(app_url) as app:
            app.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
            t0 = time.monotonic()
            with pytest.raises(psycopg.errors.LockNotAvailable) as info:
                app.execute(
                    'SELECT ledger.post_entry(\'k2\', \'[{"account": "cash", "amount": 5, "currency": "USD"},'
                    ' {"account": "wallet", "amount": -5, "currency": "USD"}]\')'
                )
            waited = time.monotonic() - t0
        assert info.value.sqlstate == "55P03"
        assert 1.9 <= waited < 2.0 + 3.0, f"waited {waited:.2f} s for a 2 s lock_timeout"
    finally:
        stuck.close()
    assert app_ledger.get_balance("wallet").seq == 1  # k2 left nothing
    with pytest.raises(psycopg.errors.LockNotAvailable):  # the adapter does not hide it either (not retried)
        holder = psycopg.connect(db_url)
        try:
            holder.execute("SELECT 1 FROM ledger_private.account WHERE code = 'cash' FOR UPDATE")
            app_ledger.post_entry("k3", [debit("cash", 1, "USD"), credit("wallet", 1, "USD")])
        finally:
            holder.close()
    assert app_ledger.books_check() == []


def test_an_idle_transaction_as_the_app_cannot_hold_rows_forever(app_url: str) -> None:
    """The limit that ends a stuck client's transaction: checked by value here (waiting 30 s is too long a test)."""
    with psycopg.connect(app_url) as c:
        assert c.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("30s",)


def test_an_app_session_cannot_become_someone_else(app_url: str) -> None:
    with psycopg.connect(app_url, autocommit=True) as c:
        for stmt in (
            "SET ROLE dualbook_owner",
            "SET ROLE dualbook_migrator",
            "SET ROLE postgres",
            "SET SESSION AUTHORIZATION postgres",
            "SET session_replication_role = replica",
            "GRANT dualbook_owner TO dualbook_app",
            "ALTER ROLE dualbook_reader RESET statement_timeout",
            "SELECT ledger.sequence_deferred()",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(stmt)


def test_the_limits_stop_stuck_clients_not_hostile_ones(app_url: str) -> None:
    """What the limits are not (docs/security.md): PostgreSQL lets every role SET these parameters for its own
    session and ALTER ROLE its own defaults. They bound a *stuck* client; a hostile one holding the app's
    password needs the server-side backstops the document lists."""
    with psycopg.connect(app_url, autocommit=True) as c:
        c.execute("SET lock_timeout = 0")
        assert c.execute("SHOW lock_timeout").fetchone() == ("0",)
        c.execute("ALTER ROLE dualbook_app SET lock_timeout = '2s'")  # allowed (the same value, changes nothing)


def test_the_reader_cannot_write(reader_url: str) -> None:
    with psycopg.connect(reader_url, autocommit=True) as c:
        assert c.execute("SELECT count(*) FROM ledger.currencies").fetchone()[0] > 50  # type: ignore[index]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT ledger.create_book('x')")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            c.execute("CREATE TEMP TABLE t (i int)")


def test_a_member_of_the_app_role_gets_its_privileges_not_its_limits(cluster: Cluster, db_url: str) -> None:
    """GRANT dualbook_app TO alice: alice may call the API; role settings are not inherited, so she needs her own
    (docs/security.md, "A new application user")."""
    alice = f"tap_alice_{int(time.time() * 1000)}"
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {alice} LOGIN IN ROLE dualbook_app")
    try:
        url = roles.url_as(db_url, alice)
        with psycopg.connect(url) as c:
            c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
            assert c.execute("SELECT created FROM ledger.create_account('alice:1', 'USD', 'asset')").fetchone() == (
                True,
            )
            assert c.execute("SHOW lock_timeout").fetchone() == ("0",)
        with psycopg.connect(db_url, autocommit=True) as admin:
            for name, value in APP_LIMITS.items():
                admin.execute(f"ALTER ROLE {alice} SET {name} = '{value}'")
        with psycopg.connect(url) as c:
            assert c.execute("SHOW lock_timeout").fetchone() == ("2s",)
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {alice}")


def test_the_migrator_deploys_and_reverts_without_superuser(cluster: Cluster, app_url: str) -> None:
    """Production: a DBA creates the roles once (the template deploy did, in this cluster) and lets the migrator
    create schemas in the ledger's database; Sqitch then runs as dualbook_migrator. Its revert takes this
    database's grants and objects back and leaves the cluster's roles, and every other database, alone."""
    cluster.create_database("by_migrator")
    try:
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute("GRANT CREATE ON DATABASE by_migrator TO dualbook_migrator")
        url = cluster.url("by_migrator", user=roles.MIGRATOR)
        migrate.deploy(url, capture=True)
        with psycopg.connect(cluster.url("by_migrator")) as c:
            owners = c.execute(
                "SELECT DISTINCT relowner::regrole::text FROM pg_class "
                "WHERE relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)"
            ).fetchall()
            assert owners == [(roles.OWNER,)]
            registry = c.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'sqitch'")
            assert registry.fetchone() == (roles.MIGRATOR,)
        with Ledger.connect(cluster.url("by_migrator", user=roles.APP), max_size=1) as lg:
            lg.create_account("a", "USD", "asset")

        with pytest.raises(migrate.DataLossRefused):  # the journal holds an account: not without saying so
            migrate.revert(url, capture=True)
        migrate.revert(url, capture=True, destroy_data=True)
        with psycopg.connect(cluster.url("by_migrator")) as c:
            assert c.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ledger%'").fetchone() == (0,)
            assert c.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'dualbook\\_%'").fetchone() == (6,)
        with Ledger.connect(app_url, max_size=1) as lg:  # another database of the cluster, as the app
            lg.create_account("still", "USD", "asset")
            assert lg.get_balance("still").balance == 0
    finally:
        drop_database(cluster, cluster.url("by_migrator"))


def test_every_plpgsql_dependency_is_a_ledger_object(conn: psycopg.Connection) -> None:
    """With search_path pinned to pg_catalog, pg_temp, a ledger name resolves only if qualified; plpgsql_check
    lists the relations and functions each PL/pgSQL function uses: only ledger and pg_catalog objects, nothing in
    public or pg_temp."""
    assert plpgsql_findings(conn) == []  # creates the extension
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text, d.type, d.schema, d.name "
        "FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang AND l.lanname = 'plpgsql' "
        "CROSS JOIN LATERAL public.plpgsql_show_dependency_tb(p.oid) AS d "
        "WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace) "
        "AND NOT EXISTS (SELECT 1 FROM pg_trigger AS t WHERE t.tgfoid = p.oid)"
    ).fetchall()
    assert rows, "plpgsql_show_dependency_tb found nothing: the check would be vacuous"
    # pg_catalog relations are fine (the sealer reads pg_locks); nothing may come from public or pg_temp
    assert {schema for _, _, schema, _ in rows} <= {"ledger", "ledger_private", "pg_catalog"}, rows


def test_cli_read_commands_work_with_only_the_app_url(app_url: str) -> None:
    """The application's role reads through its own client (docs/security.md §1), so the CLI's read commands work
    with DATABASE_URL alone."""
    env = {"DATABASE_URL": app_url, "DUALBOOK_READER_URL": ""}
    for args in (["trial-balance"], ["account", "list"], ["check"]):
        r = CliRunner().invoke(main, args, env=env)
        assert r.exit_code == 0, (args, r.output)


def test_cli_command_of_another_role_with_only_the_app_url_explains_the_refusal(app_url: str) -> None:
    r = CliRunner().invoke(main, ["audit", "status"], env={"DATABASE_URL": app_url, "DUALBOOK_AUDITOR_URL": ""})
    assert r.exit_code == EXIT_INFRASTRUCTURE
    assert "42501" in r.stderr and "docs/security.md" in r.stderr


def test_embedded_cluster_urls_name_the_roles(cluster: Cluster) -> None:
    urls = embedded_urls(cluster, "x")
    assert urls["app"] == cluster.url("x", user=roles.APP)
    assert urls["reader"].startswith("postgresql://dualbook_reader@127.0.0.1:")
    assert urls["sequencer"].startswith("postgresql://dualbook_sequencer@")
    assert urls["migrator"].startswith("postgresql://postgres@")  # the first deploy creates the roles
    assert roles.url_as("postgresql://u:pw@h:5/db?sslmode=require", "v") == "postgresql://v@h:5/db?sslmode=require"


def test_concurrent_app_postings_still_serialize(app_ledger: Ledger) -> None:
    """The limits do not get in the way of ordinary contention: short waits, retried 40001s, no 55P03."""
    app_ledger.post_entry("seed", [debit("cash", 1000, "USD"), credit("wallet", 1000, "USD")])
    errors: list[BaseException] = []

    def pay(i: int) -> None:
        try:
            app_ledger.post_entry(f"p{i}", [debit("wallet", 1, "USD"), credit("cash", 1, "USD")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert app_ledger.get_balance("wallet").balance == 980
