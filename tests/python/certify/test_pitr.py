"""Point-in-time restore drill: callers post through one group poster while the test records the books at several
instants T (and closes a period, which creates a named restore point); each T is then restored with pgBackRest into
a fresh cluster of its own, alternately by time and by WAL position.

An instant is a consistent cut: the test takes a SHARE lock on the journal's entry table for a moment (every posting
that began writing has committed and is visible; the others wait), reads every account's balance, the as-of balance
by effective date, the journal's keys, the server's clock_timestamp() and its WAL insert position, and lets go. A
posting committed after that has a later commit time and a later WAL position. In the restored cluster: the balances
and as-of balances equal the recorded ones, the journal is exactly the recorded keys (so every entry acknowledged
before T is there and every one acknowledged after T that was not committed by then is absent), the checker's
invariants hold for the callers' acknowledgements up to T, books check finds nothing, audit verify is clean and the
chain head is the one published (sealed) just before T. The restore to the period-close restore point reproduces the
month-end report byte for byte (the CLI's table and the adapter's CSV export).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from click.testing import CliRunner

from dualbook import Ledger, reports
from dualbook.audit import journal
from dualbook.cli import main
from dualbook.db.backup import Backups, RestoreTarget, format_lsn, parse_lsn, restore_point_name
from dualbook.db.cluster import Cluster
from dualbook.testing import TEMPLATE_DB, deploy_template, throwaway_cluster
from dualbook.tools.certify import AckRecord, Certification, ScenarioRow

from .profile import PROFILE
from .test_grouped import WALLETS, GroupedDrill

INSTANTS = 6 if PROFILE.name == "certify" else 2
CALLERS = 16 if PROFILE.name == "certify" else 6
BOOK = "default"


@dataclass(frozen=True)
class Instant:
    """The books at one instant T, and what the callers had been told by then."""

    at: datetime
    lsn: str
    balances: dict[str, int]
    as_of: dict[str, int]
    keys: frozenset[str]
    acks: dict[str, AckRecord]
    refused: frozenset[str]
    head: str | None


def books_now(conn: psycopg.Connection[Any], today: date) -> tuple[dict[str, int], dict[str, int], frozenset[str]]:
    balances = dict(conn.execute("SELECT code, balance FROM ledger.accounts WHERE book = %s", (BOOK,)).fetchall())
    as_of = {
        code: conn.execute("SELECT balance FROM ledger.balance_as_of(%s, %s, %s)", (code, today, BOOK)).fetchone()[0]
        for code in balances
    }
    keys = frozenset(k for (k,) in conn.execute("SELECT idempotency_key FROM ledger_private.entry"))
    return balances, as_of, keys


def record_instant(url: str, ledger: Ledger, drill: GroupedDrill, today: date) -> Instant:
    journal.seal(ledger)  # what gets published: the head just before T
    head = next(b.head for b in journal.status(ledger) if b.book == BOOK)
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("LOCK TABLE ledger_private.entry IN SHARE MODE")
        with drill.lock:  # everything acknowledged so far committed before the lock was granted
            acks, refused = dict(drill.acks), frozenset(drill.refused)
        balances, as_of, keys = books_now(conn, today)
        row = conn.execute("SELECT clock_timestamp(), pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
    return Instant(row[0], row[1], balances, as_of, keys, acks, refused, head)


def month_end(url: str, month: str) -> tuple[str, str]:
    """The month-end report as the CLI prints it (stdout) and as the adapter exports it (CSV)."""
    env = {"DATABASE_URL": url, "DUALBOOK_READER_URL": url}
    result = CliRunner().invoke(main, ["report", "month-end", month], env=env)
    assert result.exit_code == 0, result.output
    with Ledger.connect(url, max_size=1) as lg:
        first = date.fromisoformat(f"{month}-01")
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        csv = reports.to_csv(lg.month_end_report(first, last))
    return result.stdout, csv


def check_restored(
    copy: Cluster, want: Instant, today: date, row: ScenarioRow, final_acks: dict[str, AckRecord]
) -> None:
    url = copy.url(TEMPLATE_DB)
    with psycopg.connect(url) as conn:
        balances, as_of, keys = books_now(conn, today)
    assert balances == want.balances, "account balances differ from the ones recorded at T"
    assert as_of == want.as_of, "as-of balances differ from the ones recorded at T"
    assert keys == want.keys, f"journal differs: {len(keys - want.keys)} extra, {len(want.keys - keys)} missing"
    later = set(final_acks) - want.keys  # acknowledged after T
    assert not later & keys
    row.add("acknowledged after T, absent (summed over instants)", len(later))
    row.add("entries restored", len(keys))
    row.verify(url, want.acks, refused=want.refused, where=f"restored to {want.at}")
    with Ledger.connect(url, max_size=1) as lg:
        assert lg.books_check() == []
        report = journal.verify_database(lg)
        assert report.ok, report.findings
        assert report.heads.get(BOOK) == want.head, "the chain head is not the one published before T"


def setup_books(url: str, month_day: date) -> None:
    with Ledger.connect(url, max_size=1) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("equity", "USD", "equity")
        for w in WALLETS:
            lg.create_account(w, "USD", "liability", lower_limit=0)
        for i, w in enumerate(WALLETS):  # last month: top-ups, dated then
            amount = 1_000 + 37 * i
            legs = [
                {"account": "bank", "amount": amount, "currency": "USD"},
                {"account": w, "amount": -amount, "currency": "USD"},
            ]
            lg.post_entry(f"opening:{w}", legs, effective_date=month_day)
        legs = [
            {"account": "bank", "amount": 5_000, "currency": "USD"},
            {"account": "equity", "amount": -5_000, "currency": "USD"},
        ]
        lg.post_entry("capital", legs, effective_date=month_day)


def test_pitr_drill(certification: Certification) -> None:
    today = datetime.now(UTC).date()
    month_end_day = today.replace(day=1) - timedelta(days=1)
    month = month_end_day.strftime("%Y-%m")
    title = f"pitr ({CALLERS} callers, one group poster; {INSTANTS} instants restored by time and LSN, 1 period close)"
    with certification.scenario(title) as row, throwaway_cluster() as cluster:
        deploy_template(cluster)
        url = cluster.url(TEMPLATE_DB)
        setup_books(url, month_end_day.replace(day=15))
        backups = Backups.of(cluster)
        started = time.monotonic()
        backups.backup("full")
        row.note("full backup s", f"{time.monotonic() - started:.1f}")
        drill = GroupedDrill(url)
        threads = [threading.Thread(target=drill.caller, args=(c,), daemon=True) for c in range(CALLERS)]
        for t in threads:
            t.start()
        rnd = random.Random(19)
        instants: list[Instant] = []
        try:
            with Ledger.connect(url, max_size=1) as ops:
                for i in range(INSTANTS):
                    time.sleep(rnd.uniform(0.3, 0.8))
                    if i == INSTANTS // 2:  # a differential backup in the middle of the run
                        backups.backup("diff")
                    instants.append(record_instant(url, ops, drill, today))
                    if i == 0:
                        closed = ops.close_period(month_end_day)
                        assert closed.created
                        point = backups.create_restore_point(restore_point_name(BOOK, month_end_day))
                        live_report = month_end(url, month)
                time.sleep(rnd.uniform(0.3, 0.8))  # more postings after the last instant
        finally:
            drill.stop.set()
            for t in threads:
                t.join(timeout=60)
            drill.ledger.close()
        assert not drill.errors, drill.errors
        row.transactions = drill.ledger.stats.attempts
        row.note("acknowledged", len(drill.acks))
        row.note("refused", len(drill.refused))
        final_acks = dict(drill.acks)
        assert len(final_acks) > len(instants[-1].acks), "nothing was acknowledged after the last instant"
        restore_seconds: list[float] = []
        for i, want in enumerate(instants):
            target = (
                RestoreTarget.parse(want.at.isoformat(), "time")
                if i % 2 == 0
                else RestoreTarget.parse(want.lsn, "lsn", exclusive=True)
            )
            started = time.monotonic()
            copy = backups.restore(target, cluster.datadir.parent / f"restore-{i}")
            restore_seconds.append(time.monotonic() - started)
            row.faults += 1
            try:
                check_restored(copy, want, today, row, final_acks)
            finally:
                copy.destroy()
        started = time.monotonic()
        copy = backups.restore(RestoreTarget.parse(point.name, "name"), cluster.datadir.parent / "restore-close")
        restore_seconds.append(time.monotonic() - started)
        row.faults += 1
        try:
            assert month_end(copy.url(TEMPLATE_DB), month) == live_report
            assert parse_lsn(point.as_json()["lsn"]) == point.lsn
            row.note("close report", f"{len(live_report[1].splitlines()) - 1} accounts, byte for byte")
        finally:
            copy.destroy()
        row.note("restores", len(restore_seconds))
        row.note(
            "RTO restore s p50/max",
            f"{sorted(restore_seconds)[len(restore_seconds) // 2]:.1f}/{max(restore_seconds):.1f}",
        )
        row.note("restore point", f"{point.name} at {format_lsn(point.lsn)}")
