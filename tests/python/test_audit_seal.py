"""The sealer under concurrency: entries committed out of id order are never sealed early, skipped or sealed twice;
the sealer waits for (and only for) transactions that may still commit an older id; postings never wait for it;
and after a concurrent workload with the sealer running alongside, everything verifies — in the database and
offline from an export."""

from __future__ import annotations

import io
import random
import threading
import time
from typing import Any

import psycopg
import pytest

from dualbook import Ledger, RetryPolicy, credit, debit
from dualbook import errors as E
from dualbook.audit import journal as audit
from dualbook.audit import verify as auditspec

from .auditkit import chart, history, seal_on


def _post(conn: psycopg.Connection[Any], key: str, amount: int = 100) -> int:
    row = conn.execute(
        "SELECT entry_id FROM ledger.post_entry(%s, %s::jsonb)",
        (
            key,
            f'[{{"account": "settlement", "amount": {amount}, "currency": "USD"}},'
            f' {{"account": "fees", "amount": {-amount}, "currency": "USD"}}]',
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _sealed(db_url: str) -> list[tuple[int, int]]:
    with psycopg.connect(db_url) as c:
        return [(int(r[0]), int(r[1])) for r in c.execute("SELECT entry_id, seal_no FROM ledger_private.sealed_entry")]


@pytest.fixture
def ledger(db_url: str) -> Any:
    with Ledger.connect(db_url, max_size=4) as lg:
        chart(lg)
        yield lg


def _serializable(db_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(db_url)
    conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    return conn


def test_out_of_order_commit_is_not_sealed_early(db_url: str, ledger: Ledger) -> None:
    """A takes entry id x and stays open; B takes x+1 and commits first. Sealing x+1 now would make x, when it
    commits, an entry below the watermark that no seal holds: the sealer must wait for A."""
    with _serializable(db_url) as a, _serializable(db_url) as b, psycopg.connect(db_url, autocommit=True) as s:
        x = _post(a, "ooo:a")  # A: id x, not committed
        y = _post(b, "ooo:b")
        b.commit()  # B: id x+1, committed first
        assert y > x
        a_pid = a.info.backend_pid

        # A naive watermark ("the highest committed id") would be y; the sealer seals nothing and names A.
        r = seal_on(s, wait_ms=50)
        assert (r.status, r.entries) == ("waiting", 0)
        assert r.waiting_for == [a_pid]
        assert _sealed(db_url) == []

        a.commit()
        r = seal_on(s)
        assert (r.status, r.entries, r.seals, r.sealed_through) == ("sealed", 2, 1, y)
        assert sorted(_sealed(db_url)) == [(x, 1), (y, 1)]  # both, once, in one seal, in id order
        assert seal_on(s).status == "idle"
    assert audit.verify_database(ledger).ok


def test_a_waiting_sealer_seals_as_soon_as_the_older_transaction_commits(db_url: str, ledger: Ledger) -> None:
    with _serializable(db_url) as a, _serializable(db_url) as b, psycopg.connect(db_url, autocommit=True) as s:
        x = _post(a, "late:a")
        y = _post(b, "late:b")
        b.commit()
        result: list[audit.SealResult] = []
        sealer = threading.Thread(target=lambda: result.append(seal_on(s, wait_ms=10_000)))
        started = time.monotonic()
        sealer.start()
        time.sleep(0.3)
        assert sealer.is_alive()  # waiting for A, polling pg_locks
        a.commit()
        sealer.join(timeout=10)
        assert not sealer.is_alive()
        assert 0.3 <= time.monotonic() - started < 5
        assert (result[0].status, result[0].entries) == ("sealed", 2)
        assert sorted(e for e, _ in _sealed(db_url)) == [x, y]


def test_an_open_inserter_without_an_id_yet_holds_the_watermark(db_url: str, ledger: Ledger) -> None:
    """The argument does not rely on transaction ids: a transaction that holds ROW EXCLUSIVE on entry but has not
    drawn an id (nor an xid) yet — the instant between the lock and nextval() — is waited for too."""
    with psycopg.connect(db_url) as a, _serializable(db_url) as b, psycopg.connect(db_url, autocommit=True) as s:
        a.execute("LOCK TABLE ledger_private.entry IN ROW EXCLUSIVE MODE")
        assert a.execute("SELECT pg_current_xact_id_if_assigned()").fetchone() == (None,)
        _post(b, "noxid:b")
        b.commit()
        r = seal_on(s, wait_ms=50)
        assert (r.status, r.waiting_for) == ("waiting", [a.info.backend_pid])
        a.rollback()
        assert seal_on(s).entries == 1


def test_idle_transactions_elsewhere_do_not_hold_the_sealer(db_url: str, ledger: Ledger) -> None:
    """Only transactions that may insert entries matter: a long reader or a writer of other tables is not waited for."""
    ledger.post_entry("r:1", [debit("bank", 1, "USD"), credit("fees", 1, "USD")])
    with psycopg.connect(db_url) as reader, psycopg.connect(db_url, autocommit=True) as s:
        reader.execute("SELECT count(*) FROM ledger_private.entry")  # AccessShareLock, open transaction
        reader.execute("SELECT pg_current_xact_id()")  # and an xid
        r = seal_on(s, wait_ms=0)
        assert (r.status, r.entries) == ("sealed", 1)


def test_a_second_sealer_is_busy_not_blocked(db_url: str, ledger: Ledger) -> None:
    ledger.post_entry("b:1", [debit("bank", 1, "USD"), credit("fees", 1, "USD")])
    with psycopg.connect(db_url) as first, psycopg.connect(db_url, autocommit=True) as second:
        assert seal_on(first).status == "sealed"  # its transaction (and the sealer's lock) is still open
        started = time.monotonic()
        assert seal_on(second).status == "busy"
        assert time.monotonic() - started < 1
        first.commit()
        assert seal_on(second).status == "idle"


def test_postings_never_wait_for_the_sealer(db_url: str, ledger: Ledger) -> None:
    """While a sealer's transaction is open (its seals, its advisory lock, its reads), postings — to the same
    accounts, in the same book — commit without waiting."""
    ledger.post_entry("w:0", [debit("settlement", 1, "USD"), credit("fees", 1, "USD")])
    with psycopg.connect(db_url) as s:
        s.execute("SET lock_timeout = '5s'")
        assert seal_on(s).status == "sealed"  # uncommitted seal of entry w:0
        started = time.monotonic()
        with _serializable(db_url) as p:
            p.execute("SET lock_timeout = '200ms'")
            for i in range(20):
                _post(p, f"w:{i + 1}")
                p.commit()
        assert time.monotonic() - started < 3
        s.commit()


def test_the_sealer_refuses_repeatable_read(db_url: str, ledger: Ledger) -> None:
    with psycopg.connect(db_url) as c:
        c.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with pytest.raises(psycopg.Error) as info:
            seal_on(c)
    assert info.value.sqlstate == "LD303"
    assert isinstance(audit.seal(ledger), audit.SealResult)  # the adapter runs it in READ COMMITTED itself


def test_python_errors_for_the_new_codes() -> None:
    assert E.lookup("LD304") is E.SealChainBroken and issubclass(E.SealChainBroken, E.InfrastructureError)
    assert E.lookup("LD305") is E.UnsafeEntryIds


def test_concurrent_workload_with_sealer_verifies(db_url: str) -> None:
    """8 clients post for a while — payments with a fee on a deferred account, top-ups in a second book,
    reversals, and transactions that stay open a few milliseconds after posting so that commits overtake each
    other — while the sealer runs every 20 ms (sometimes with a small p_max) and the sequencer every 30 ms.
    Afterwards: every entry sealed exactly once, the chains contiguous, audit_verify() empty, and the export
    verifies offline, in plain Python, with the same hashes."""
    threads, per_thread = 8, 30
    retry = RetryPolicy(max_attempts=200, max_delay=0.05)
    with Ledger.connect(db_url, max_size=threads + 4, retry=retry) as lg:
        chart(lg)
        history(lg)
        for i in range(threads):
            lg.create_account(f"w:{i}", "USD", "liability", lower_limit=0)
            lg.post_entry(f"fund:{i}", [debit("bank", 1_000_000, "USD"), credit(f"w:{i}", 1_000_000, "USD")])
        stop = threading.Event()
        failures: list[BaseException] = []
        passes: list[audit.SealResult] = []

        def client(i: int) -> None:
            rnd = random.Random(i)
            try:
                for n in range(per_thread):
                    key = f"p:{i}:{n}"
                    legs = [debit(f"w:{i}", 100, "USD"), credit("bank", 99, "USD"), credit("fees", 1, "USD")]

                    def unit(conn: psycopg.Connection[Any], key: str = key, legs: Any = legs) -> int:
                        entry_id = lg.post_entry(key, legs, conn=conn).entry_id
                        time.sleep(rnd.random() * 0.004)  # stay open: a later id may commit first
                        return entry_id

                    entry_id = lg.transaction(unit)
                    if n % 7 == 3:
                        lg.reverse_entry(entry_id, f"rev:{key}", reason="refund")
                    if n % 5 == 0:
                        lg.post_entry(
                            f"e:{i}:{n}", [debit("bank", 5, "EUR"), credit("wallet:9", 5, "EUR")], book="emea"
                        )
            except BaseException as exc:
                failures.append(exc)

        def sealer() -> None:
            rnd = random.Random(99)
            try:
                while not stop.wait(0.02):
                    passes.append(audit.seal(lg, max_entries=rnd.choice([3, 50, 10_000])))
            except BaseException as exc:
                failures.append(exc)

        def sequencer() -> None:
            while not stop.wait(0.03):
                lg.sequence_deferred(max_legs=100)

        helpers = [threading.Thread(target=sealer), threading.Thread(target=sequencer)]
        workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
        for t in helpers + workers:
            t.start()
        for t in workers:
            t.join()
        stop.set()
        for t in helpers:
            t.join()
        assert failures == []
        sealed_while_running = sum(p.entries for p in passes)
        assert sealed_while_running > 0 and any(p.status == "sealed" for p in passes)

        final = audit.seal_pass(lg)
        assert final.status in ("sealed", "idle")
        lg.drain_deferred()

        with psycopg.connect(db_url) as c:
            entries = [r[0] for r in c.execute("SELECT entry_id FROM ledger_private.entry ORDER BY entry_id")]
            sealed = [r[0] for r in c.execute("SELECT entry_id FROM ledger_private.sealed_entry ORDER BY entry_id")]
            chains = c.execute(
                "SELECT book_id, seal_no, from_entry_id, to_entry_id, "
                "lag(to_entry_id) OVER (PARTITION BY book_id ORDER BY seal_no) "
                "FROM ledger_private.seal ORDER BY book_id, seal_no"
            ).fetchall()
        assert sealed == entries  # every entry sealed, none twice (sealed_entry's key), none skipped
        assert len(entries) > threads * per_thread
        for book_id, seal_no, lo, hi, before in chains:
            assert lo == (before or 0) and hi > lo, (book_id, seal_no)
        report = audit.verify_database(lg)
        assert report.ok, [f.line() for f in report.findings[:5]]
        assert report.sealed == report.entries == len(entries)

        buf = io.BytesIO()
        audit.export(lg, buf)
        offline = auditspec.verify_data(auditspec.read_export(io.BytesIO(buf.getvalue())))
        assert offline.ok, [f.line() for f in offline.findings[:5]]
        assert offline.heads == report.heads
        print(f"sealer passes while posting: {len(passes)}, entries sealed then: {sealed_while_running}")
