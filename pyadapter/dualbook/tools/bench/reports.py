"""Point ``R`` of `dualbook bench`: the reports by effective date on the loaded journal.

The journal is P5's (``--scale-postings`` postings over ``--accounts`` accounts, each entry dated on a random day of
the past year, loaded in random date order); if P5 did not run, it is loaded here the same way. Then, from one
connection whose transactions are REPEATABLE READ READ ONLY (what a hot standby allows), in this order:

* ``R-close``: ``ledger.close_period`` through the end of the month before last (checkpoints of every account);
* ``R-asof``: ``ledger.balance_as_of`` of a random account at a random date of the year, one call at a time;
* ``R-stmt``: ``ledger.statement`` of a random account over the whole year, its first page of 100 lines;
* ``R-tb``: ``ledger.trial_balance_as_of`` the last day (asserted to net to zero);
* ``R-me``: ``ledger.month_end_report`` of last month for every account (opening from the checkpoints);
* ``R-close2`` and ``R-mef``: the close of last month, and its month-end report again, now final.

Latencies are measured around each call (client side, rows fetched); percentiles over the calls.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import psycopg

from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench.loader import load_journal
from dualbook.tools.bench.pgbench import BenchError
from dualbook.tools.bench.results import BenchOptions, Progress, Result, percentile

AS_OF_CALLS = 2000
STATEMENT_CALLS = 1000
PAGE = 100
REPEATS = 3

#: the targets (docs/performance.md): as-of p99, one statement page p99, the month-end report of every account
AS_OF_P99_MS = 5.0
STATEMENT_P99_MS = 10.0
MONTH_END_S = 10.0


def _month_bounds(today: date) -> tuple[date, date, date]:
    """(end of the month before last, first and last day of last month)."""
    first_this = today.replace(day=1)
    last_month_end = first_this - timedelta(days=1)
    last_month_start = last_month_end.replace(day=1)
    return last_month_start - timedelta(days=1), last_month_start, last_month_end


def _timed(fn: Callable[[], Any], n: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times), out


def _result(name: str, title: str, times_ms: list[float], extras: dict[str, Any]) -> Result:
    total_s = sum(times_ms) / 1000
    return Result(
        name=name,
        title=title,
        clients=1,
        tps=0.0,
        retried_pct=0.0,
        failed_pct=0.0,
        p50_ms=percentile(times_ms, 50),
        p99_ms=percentile(times_ms, 99),
        ratio=None,
        ratio_of=None,
        calls_per_s=round(len(times_ms) / total_s, 1) if total_s > 0 else 0.0,
        entries_per_call=0,
        calls=len(times_ms),
        retried=0,
        failed=0,
        seconds=round(total_s, 2),
        extras=extras,
    )


def _close(conninfo: str, through: date) -> tuple[float, dict[str, Any]]:
    """Close the default book through ``through`` (a no-op when already closed through it)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET default_transaction_isolation = serializable")
        closed = conn.execute("SELECT ledger.closed_through()").fetchone()
        if closed is not None and closed[0] is not None and closed[0] > through:
            raise BenchError(f"the book is already closed through {closed[0]}, after {through}: use a fresh database")
        t = time.perf_counter()
        row = conn.execute("SELECT accounts, created FROM ledger.close_period(%s)", (through,)).fetchone()
        took = (time.perf_counter() - t) * 1000
    assert row is not None
    return took, {"through": through.isoformat(), "checkpoints": row[0], "created": row[1]}


def measure_reports(conninfo: str, prefix: str, opts: BenchOptions, run_tag: str, progress: Progress) -> list[Result]:
    loaded = load_journal(conninfo, prefix, opts, run_tag, progress)
    today = date.today()
    close1, month_from, month_to = _month_bounds(today)
    year_from = today - timedelta(days=365)
    rng = random.Random(17)
    width = benchsql.code_width(opts.accounts)

    def code() -> str:
        return f"{prefix}:{rng.randint(1, opts.accounts):0{width}d}"

    results: list[Result] = []
    progress(f"[R] close_period through {close1} (checkpoints of every account) ...")
    took, info = _close(conninfo, close1)
    results.append(_result("R-close", f"close_period through {close1}", [took], {**info, **loaded}))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET default_transaction_isolation = 'repeatable read'")
        conn.execute("SET default_transaction_read_only = on")

        def as_of() -> Any:
            day = year_from + timedelta(days=rng.randint(0, 365))
            return conn.execute("SELECT balance FROM ledger.balance_as_of(%s, %s)", (code(), day)).fetchone()

        def statement() -> Any:
            row = conn.execute(
                "SELECT jsonb_array_length(lines) FROM ledger.statement(%s, %s, %s, NULL, %s)",
                (code(), year_from, today, PAGE),
            ).fetchone()
            return row[0] if row else 0

        progress(f"[R] balance_as_of, {AS_OF_CALLS} calls ...")
        times, _ = _timed(as_of, AS_OF_CALLS)
        results.append(_result("R-asof", "balance_as_of (random account and date)", times, {}))
        progress(f"[R] statement, first page of {PAGE} lines over the year, {STATEMENT_CALLS} calls ...")
        lines: list[int] = []
        times, _ = _timed(lambda: lines.append(statement()), STATEMENT_CALLS)
        results.append(
            _result(
                "R-stmt", f"statement page (<= {PAGE} lines)", times, {"mean_lines": round(sum(lines) / len(lines), 1)}
            )
        )
        progress(f"[R] trial_balance_as_of {today - timedelta(days=1)} ...")
        tb_sql = "SELECT currency, debits, credits, net FROM ledger.trial_balance_as_of(%s)"
        times, rows = _timed(lambda: conn.execute(tb_sql, (today - timedelta(days=1),)).fetchall(), REPEATS)
        if any(r[1] != r[2] or r[3] != 0 for r in rows):
            raise BenchError(f"the trial balance does not net to zero: {rows}")
        results.append(_result("R-tb", "trial_balance_as_of (every account)", times, {"currencies": len(rows)}))
        me_sql = (
            "SELECT account, currency, type, opening, debits, credits, closing, final "
            "FROM ledger.month_end_report(%s, %s)"
        )
        progress(f"[R] month_end_report {month_from} .. {month_to} (open) ...")
        times, rows = _timed(lambda: conn.execute(me_sql, (month_from, month_to)).fetchall(), REPEATS)
        results.append(_result("R-me", "month_end_report, last month (every account)", times, {"rows": len(rows)}))
    progress(f"[R] close_period through {month_to}, then its month-end report (final) ...")
    took, info = _close(conninfo, month_to)
    results.append(_result("R-close2", f"close_period through {month_to}", [took], info))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET default_transaction_isolation = 'repeatable read'")
        conn.execute("SET default_transaction_read_only = on")
        times, rows = _timed(lambda: conn.execute(me_sql, (month_from, month_to)).fetchall(), REPEATS)
        if not rows or not all(r[-1] for r in rows):
            raise BenchError("the month-end report of a closed month is not final")
        results.append(_result("R-mef", "month_end_report, last month, final", times, {"rows": len(rows)}))
    for r in results:
        progress(f"      -> {r.name}: p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms over {r.calls} calls")
    return results
