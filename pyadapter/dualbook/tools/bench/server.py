"""The server side of `dualbook bench`: machine facts, the bench accounts, the sequencer thread of P2, and the
server's own counters (CPU, WAL, blocks) turned into a cost per call."""

from __future__ import annotations

import contextlib
import os
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench.pgbench import BenchError, PgbenchSummary
from dualbook.tools.bench.procstat import CpuSample
from dualbook.tools.bench.results import (
    LIMITED_ACCOUNTS,
    LIMITED_FUNDING,
    SEQUENCER_EVERY,
    SEQUENCER_MAX,
    Progress,
    progress_to_stderr,
)


def machine_info(conninfo: str, database: str) -> dict[str, Any]:
    """What the results depend on: CPUs, kernel, PostgreSQL, load, where the database runs."""
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "database": database,
    }
    with contextlib.suppress(OSError, StopIteration):
        info["cpu_model"] = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    with contextlib.suppress(OSError, IndexError):
        info["memory"] = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    info["load_average_at_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers'), "
            "current_setting('max_connections'), current_setting('synchronous_commit'), current_setting('fsync')"
        ).fetchone()
    if row is not None:
        info["server_version"] = row[0]
        info["server_settings"] = (
            f"shared_buffers={row[1]}, max_connections={row[2]}, synchronous_commit={row[3]}, fsync={row[4]}"
        )
    return info


# --- preparation --------------------------------------------------------------------------------------------
def serializable_connection(conninfo: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(conninfo)
    conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    return conn


def prepare(conninfo: str, prefix: str, accounts: int, progress: Progress = progress_to_stderr) -> None:
    """bench-sql's preparation (ceiling table, the uniform accounts), plus the house account (deferred income),
    the 10 limited liabilities (lower_limit 0) and their funding -- all through the API, idempotently."""
    benchsql.prepare(conninfo, prefix, accounts, progress)
    with serializable_connection(conninfo) as conn, conn.transaction():
        conn.execute(
            "SELECT * FROM ledger.create_account(%s, 'USD', 'income', p_deferred => true)", (f"{prefix}:house",)
        )
        conn.execute("SELECT * FROM ledger.create_account(%s, 'USD', 'asset')", (f"{prefix}:funding",))
        for i in range(1, LIMITED_ACCOUNTS + 1):
            code = f"{prefix}:limited:{i:02d}"
            conn.execute("SELECT * FROM ledger.create_account(%s, 'USD', 'liability', p_lower_limit => 0)", (code,))
            legs = [
                {"account": f"{prefix}:funding", "amount": LIMITED_FUNDING, "currency": "USD"},
                {"account": code, "amount": -LIMITED_FUNDING, "currency": "USD"},
            ]
            conn.execute(
                "SELECT * FROM ledger.post_entry(%s, %s)",
                (f"{prefix}:fund:{i:02d}", Jsonb(legs)),
            )
    progress(f"  house account '{prefix}:house' (deferred) and {LIMITED_ACCOUNTS} funded limited accounts ready")


def check_owner(conninfo: str) -> None:
    """Raise BenchError unless the connection may read ledger_private (the journal's size) -- the owner's or
    migrator's URL, not the application role's."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT has_schema_privilege('ledger_private', 'USAGE')").fetchone()
    if row is None or not row[0]:
        raise BenchError(
            "the bench counts the journal in ledger_private and creates its own schema: set DATABASE_URL to the "
            "ledger owner's (migrator's) URL, not the application role's"
        )


def journal_size(conninfo: str) -> tuple[int, int]:
    """(entries, postings) in the journal (every book)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM ledger_private.entry), (SELECT count(*) FROM ledger_private.posting)"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


# --- the sequencer ------------------------------------------------------------------------------------------
class Sequencer(threading.Thread):
    """The sequencer as ``dualbook sequencer --every 0.2`` runs it: ``SELECT ledger.sequence_deferred()`` on its
    own READ COMMITTED autocommit connection, again at once while a call folds ``max_legs``, else after
    ``every`` seconds."""

    def __init__(self, conninfo: str, every: float = SEQUENCER_EVERY, max_legs: int = SEQUENCER_MAX) -> None:
        super().__init__(name="dualbook-bench-sequencer", daemon=True)
        self.conninfo = conninfo
        self.every = every
        self.max_legs = max_legs
        self.halt = threading.Event()
        self.calls = 0
        self.folded = 0
        self.busy_s = 0.0
        self.error: BaseException | None = None

    def one_pass(self, conn: psycopg.Connection[Any]) -> int | None:
        row = conn.execute("SELECT ledger.sequence_deferred(%s)", (self.max_legs,)).fetchone()
        self.calls += 1
        n = None if row is None or row[0] is None else int(row[0])
        self.folded += n or 0
        return n

    def run(self) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
                while not self.halt.is_set():
                    started = time.monotonic()
                    n = self.one_pass(conn)
                    self.busy_s += time.monotonic() - started
                    if n is None or n < self.max_legs:
                        self.halt.wait(self.every)
        except BaseException as exc:  # reported by the harness after the point
            self.error = exc

    def drain(self) -> int:
        """Fold everything queued (after the workload); returns how many legs this drain folded."""
        before = self.folded
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            while True:
                n = self.one_pass(conn)
                if n is None:
                    time.sleep(0.05)
                elif n < self.max_legs:
                    return self.folded - before


def queued_legs(conninfo: str, code: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT queued FROM ledger.accounts WHERE code = %s", (code,)).fetchone()
    return int(row[0]) if row is not None else 0


# --- pgbench points -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    summary: PgbenchSummary
    latencies: list[float]
    before: CpuSample
    after: CpuSample
    counters: dict[str, float]


_COUNTERS_SQL = (
    "SELECT w.wal_records, w.wal_fpi, w.wal_bytes, d.blks_read, d.blks_hit "
    "FROM pg_stat_wal AS w, pg_stat_database AS d WHERE d.datname = current_database()"
)
_COUNTER_NAMES = ("wal_records", "wal_fpi", "wal_bytes", "blks_read", "blks_hit")


def server_counters(conninfo: str) -> dict[str, float] | None:
    """The server's cumulative WAL and buffer counters (pg_stat_wal, pg_stat_database), or None if unreadable."""
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(_COUNTERS_SQL).fetchone()
    except psycopg.Error:
        return None
    return None if row is None else {k: float(v) for k, v in zip(_COUNTER_NAMES, row, strict=True)}


def per_call(
    before: CpuSample,
    after: CpuSample,
    c0: dict[str, float] | None,
    c1: dict[str, float] | None,
    calls: int,
) -> dict[str, float]:
    """What one successful call cost the server during a point: CPU (µs; None when the server is not a local
    process), WAL records, full-page images and bytes, and blocks read from outside shared_buffers / found in it."""
    out: dict[str, float] = {}
    n = max(calls, 1)
    if before.server_s is not None and after.server_s is not None:
        out["server_cpu_us_per_call"] = round(1e6 * (after.server_s - before.server_s) / n, 1)
    if c0 is not None and c1 is not None:
        for k in _COUNTER_NAMES:
            out[f"{k}_per_call"] = round((c1[k] - c0[k]) / n, 2)
    return out


def other_cpu_pct(before: CpuSample, after: CpuSample) -> float | None:
    if after.server_s is None or before.server_s is None or after.machine_busy_s is None:
        return None
    if before.machine_busy_s is None:
        return None
    others = (after.machine_busy_s - before.machine_busy_s) - (after.server_s - before.server_s)
    others -= after.ours_s - before.ours_s
    return round(max(0.0, 100 * others / ((after.wall - before.wall) * (os.cpu_count() or 1))), 1)
