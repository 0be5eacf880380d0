"""Reports stay exact beyond 64 bits: per-account balances fit a bigint, but their sums per currency do not have to
(the view's totals are numeric); the adapter returns them as Python ints, never through a bigint cast."""

from __future__ import annotations

from dualbook import AsyncLedger, Ledger, credit, debit

BIG = 2**63 - 1  # the largest balance an account may hold


def test_trial_balance_totals_beyond_64_bits(app_url: str, reader_url: str) -> None:
    with Ledger.connect(app_url, max_size=1) as lg:
        for i in range(3):
            lg.create_account(f"big:{i}", "USD", "asset")
            lg.create_account(f"src:{i}", "USD", "asset")
            lg.post_entry(f"big:{i}", [debit(f"big:{i}", BIG, "USD"), credit(f"src:{i}", BIG, "USD")])
    with Ledger.connect(reader_url, max_size=1) as reader:
        rows = reader.trial_balance()
    usd = next(r for r in rows if r[0] == "USD")
    assert usd == ("USD", 3 * BIG, 3 * BIG, 0)
    assert all(type(v) is int for v in usd[1:])
    assert usd[1] > 2**64


def test_async_trial_balance_is_exact_too(app_url: str, reader_url: str) -> None:
    import asyncio

    with Ledger.connect(app_url, max_size=1) as lg:
        for i in range(2):
            lg.create_account(f"big:{i}", "USD", "asset")
            lg.create_account(f"src:{i}", "USD", "asset")
            lg.post_entry(f"big:{i}", [debit(f"big:{i}", BIG, "USD"), credit(f"src:{i}", BIG, "USD")])

    async def read() -> list[tuple[str, int, int, int]]:
        async with await AsyncLedger.connect(reader_url, max_size=1) as reader:
            return await reader.trial_balance()

    usd = next(r for r in asyncio.run(read()) if r[0] == "USD")
    assert usd == ("USD", 2 * BIG, 2 * BIG, 0) and type(usd[1]) is int


def test_cli_trial_balance_beyond_64_bits(app_url: str, role_env: dict[str, str]) -> None:
    import json

    from click.testing import CliRunner

    from dualbook.cli import main

    with Ledger.connect(app_url, max_size=1) as lg:
        for i in range(2):
            lg.create_account(f"big:{i}", "USD", "asset")
            lg.create_account(f"src:{i}", "USD", "asset")
            lg.post_entry(f"big:{i}", [debit(f"big:{i}", BIG, "USD"), credit(f"src:{i}", BIG, "USD")])
    r = CliRunner().invoke(main, ["trial-balance", "--json"], env=role_env)
    assert r.exit_code == 0, r.output
    (usd,) = json.loads(r.stdout)
    assert usd["debits"] == usd["credits"] == 2 * BIG and usd["net"] == 0
    r = CliRunner().invoke(main, ["trial-balance"], env=role_env)
    assert r.exit_code == 0 and "184467440737095516.14" in r.stdout, r.output


def test_reports_wait_for_a_safe_snapshot(app_url: str, reader_url: str, db_url: str) -> None:
    """Reports run SERIALIZABLE READ ONLY DEFERRABLE: while a serializable writer is open they wait for a snapshot
    it cannot invalidate (so they never fail with 40001), and run at once when none is."""
    import threading

    import psycopg
    from psycopg import IsolationLevel

    with Ledger.connect(app_url, max_size=1) as lg:
        lg.create_account("a", "USD", "asset")
        lg.create_account("b", "USD", "asset")
    with Ledger.connect(reader_url, max_size=1) as reader:
        assert reader.books_check() == []  # no writer: no wait
        with psycopg.connect(app_url) as writer:
            writer.isolation_level = IsolationLevel.SERIALIZABLE
            lg2 = Ledger.connect(app_url, max_size=1)
            try:
                lg2.post_entry("w1", [debit("a", 1, "USD"), credit("b", 1, "USD")], conn=writer)
                results: list[object] = []
                t = threading.Thread(target=lambda: results.append(reader.trial_balance()), daemon=True)
                t.start()
                t.join(1.0)
                assert t.is_alive() and not results  # waiting for the writer to finish
                with psycopg.connect(db_url, autocommit=True) as monitor:
                    row = monitor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'dualbook_reader' "
                        "AND wait_event = 'SafeSnapshot'"
                    ).fetchone()
                    assert row == (1,)
                writer.commit()
                t.join(30)
                # the snapshot taken before the writer committed, now known to be safe (or, if PostgreSQL had to
                # retry for a safe one, a later one): either way consistent
                assert results and results[0] in ([("USD", 0, 0, 0)], [("USD", 1, 1, 0)])
            finally:
                lg2.close()
