"""pgbench plumbing shared by the benchmarks: the bench accounts, running a pgbench script and reading its summary,
and the sealer thread; ``dualbook.tools.bench.sql`` (``make bench-sql``) and ``dualbook.tools.bench.run``
(``make bench``) drive it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from dualbook.db.cluster import pg_bindir
from dualbook.errors import DualbookError
from dualbook.tools.bench.procstat import proc_stat

# Server settings of the throwaway cluster, on top of dualbook.db.cluster.SERVER_SETTINGS (fsync, synchronous
# commit and full page writes stay on: the benchmark measures a durable ledger).
BENCH_SETTINGS: dict[str, str] = {
    "shared_buffers": "1GB",
    "max_connections": "200",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}
CEILING = "ceiling"
POST_ENTRY = "post_entry"
WRITE_SET = "write_set"
WRITE_SET_RC = "write_set_rc"
POST_ENTRY_SEALED = "post_entry+sealer"
SEALER_TARGET = 0.9
MAX_TRIES = 10
PGBENCH_THREADS = 2
DEFAULT_SECONDS = 15
DEFAULT_ACCOUNTS = 100_000
DEFAULT_CLIENTS = (8, 32)
MANAGED_PREFIX = "bench"
EXTERNAL_PREFIX = "dualbook-bench"
LOAD_CHUNK = 20_000

Progress = Callable[[str], None]


class BenchError(DualbookError):
    """The benchmark could not run or pgbench reported a broken run."""


@dataclass(frozen=True)
class PgbenchSummary:
    """The figures of one pgbench run, parsed from its report."""

    transactions: int
    tps: float
    latency_avg_ms: float
    failed: int
    failed_pct: float
    retried: int
    retried_pct: float
    retries: int
    serialization_failures: int
    deadlock_failures: int


_INT = r"(\d+)"
_NUM = r"([0-9]+(?:\.[0-9]+)?)"
_PATTERNS: dict[str, str] = {
    "transactions": rf"^number of transactions actually processed: {_INT}",
    "tps": rf"^tps = {_NUM}",
    "latency_avg_ms": rf"^latency average = {_NUM} ms",
    "failed": rf"^number of failed transactions: {_INT} \({_NUM}%\)",
    "retried": rf"^number of transactions retried: {_INT} \({_NUM}%\)",
    "retries": rf"^total number of retries: {_INT}",
    "serialization_failures": rf"^number of serialization failures: {_INT}",
    "deadlock_failures": rf"^number of deadlock failures: {_INT}",
}
_REQUIRED = ("transactions", "tps", "latency_avg_ms", "failed")


def parse_pgbench(output: str) -> PgbenchSummary:
    """Parse pgbench 15's end-of-run report (transactions, tps, latency, failed, retried).

    The retry lines appear only with ``--max-tries`` other than 1 and count as zero when absent; the
    transaction count, tps, average latency and failed lines are required.
    """
    found: dict[str, re.Match[str]] = {}
    for key, pattern in _PATTERNS.items():
        m = re.search(pattern, output, re.MULTILINE)
        if m is not None:
            found[key] = m
    missing = [k for k in _REQUIRED if k not in found]
    if missing:
        raise BenchError("cannot parse pgbench output (missing " + ", ".join(missing) + "):\n" + output[-2000:])

    def count(key: str) -> int:
        m = found.get(key)
        return int(m.group(1)) if m else 0

    def pct(key: str) -> float:
        m = found.get(key)
        return float(m.group(2)) if m else 0.0

    return PgbenchSummary(
        transactions=count("transactions"),
        tps=float(found["tps"].group(1)),
        latency_avg_ms=float(found["latency_avg_ms"].group(1)),
        failed=count("failed"),
        failed_pct=pct("failed"),
        retried=count("retried"),
        retried_pct=pct("retried"),
        retries=count("retries"),
        serialization_failures=count("serialization_failures"),
        deadlock_failures=count("deadlock_failures"),
    )


def bench_dir() -> Path:
    """The pgbench scripts (``sql/bench/`` of the repository, shipped in the package as ``workloads/``)."""
    return Path(__file__).resolve().parent / "workloads"


def code_width(accounts: int) -> int:
    """Digits in a bench account code: 'bench:000001' for up to 999,999 accounts, wider beyond."""
    return max(6, len(str(accounts)))


def account_code(prefix: str, n: int, accounts: int) -> str:
    """The code of bench account n (1-based), as the loader and sql/bench/post_entry.sql spell it."""
    return f"{prefix}:{n:0{code_width(accounts)}d}"


def progress_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_deployed(conninfo: str) -> str:
    """Raise BenchError unless ledger.post_entry exists; returns the server version string."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT to_regprocedure('ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)') IS NOT NULL, "
            "current_setting('server_version')"
        ).fetchone()
    if row is None or not row[0]:
        raise BenchError("ledger.post_entry() is not deployed in this database: run 'make deploy' first")
    return str(row[1])


def prepare(conninfo: str, prefix: str, accounts: int, progress: Progress = progress_to_stderr) -> None:
    """Create the ceiling table and the bench accounts (through ledger.create_account, one SERIALIZABLE
    transaction, in chunks so progress can be shown), then ANALYZE the tables the workloads touch."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute((bench_dir() / "setup.sql").read_bytes())  # no parameters: several statements in one go
    width = code_width(accounts)
    started = time.monotonic()
    created = 0
    with psycopg.connect(conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        with conn.transaction():
            for lo in range(1, accounts + 1, LOAD_CHUNK):
                hi = min(lo + LOAD_CHUNK - 1, accounts)
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE a.created) "
                    "FROM generate_series(%(lo)s::integer, %(hi)s::integer) AS g(i) "
                    "CROSS JOIN LATERAL ledger.create_account("
                    "    %(prefix)s || ':' || lpad(g.i::text, %(width)s::integer, '0'), 'USD', 'asset') AS a",
                    {"lo": lo, "hi": hi, "prefix": prefix, "width": width},
                ).fetchone()
                created += int(row[0]) if row else 0
                progress(f"  accounts {hi:,}/{accounts:,} ({time.monotonic() - started:.1f} s)")
    progress(
        f"  {accounts:,} accounts ready ({created:,} created, {accounts - created:,} existing) "
        f"in {time.monotonic() - started:.1f} s"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # Owner or superuser only; others get a WARNING and the planner uses what autovacuum gathered.
        conn.execute("VACUUM (ANALYZE) ledger_private.account, ledger_private.entry, ledger_private.posting")


def checkpoint(conninfo: str) -> None:
    """CHECKPOINT before a measurement so one run does not pay for the previous one's dirty pages (needs
    superuser or pg_checkpoint; skipped otherwise)."""
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
    except psycopg.errors.InsufficientPrivilege:
        pass


def _pgoptions(isolation: str) -> str:
    """PGOPTIONS for pgbench: the caller's, plus the default isolation level (spaces escaped for libpq)."""
    own = os.environ.get("PGOPTIONS", "").strip()
    opt = "-c default_transaction_isolation=" + isolation.replace(" ", "\\ ")
    return f"{own} {opt}".strip()


def run_pgbench(
    conninfo: str,
    script: Path,
    clients: int,
    seconds: int,
    isolation: str,
    defines: dict[str, str] | None = None,
    progress: Progress = progress_to_stderr,
    extra_args: Sequence[str] = (),
) -> PgbenchSummary:
    """Run pgbench on one script (prepared statements, bounded retries) and parse its report.

    pgbench's progress lines (-P) are relayed to ``progress`` as they arrive. Raises BenchError when pgbench
    exits non-zero (e.g. a client aborted on an error that is not a serialization failure).
    """
    cmd = [
        str(pg_bindir() / "pgbench"),
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--jobs={min(PGBENCH_THREADS, clients)}",
        f"--time={seconds}",
        f"--max-tries={MAX_TRIES}",
        "--failures-detailed",
        f"--progress={max(1, seconds // 3)}",
        f"--file={script}",
        *extra_args,
    ]
    for name, value in (defines or {}).items():
        cmd.append(f"--define={name}={value}")
    cmd.append(conninfo)  # pgbench expands a connection string or URI given as the database name
    env = {**os.environ, "PGOPTIONS": _pgoptions(isolation)}
    lines: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("progress:"):
                progress("    " + line.rstrip())
        rc = proc.wait()
    output = "".join(lines)
    if rc != 0:
        tail = "".join(lines[-15:]).rstrip()
        raise BenchError(f"pgbench exited with status {rc} on {script.name} ({clients} clients):\n{tail}")
    return parse_pgbench(output)


class Sealer(threading.Thread):
    """The sealer as ``dualbook audit seal --every S`` runs it: a pass every ``every`` seconds on its own READ
    COMMITTED connection, each pass calling ``ledger.seal_journal()`` again while a call fills ``max_entries``."""

    def __init__(self, conninfo: str, every: float, max_entries: int = 10_000) -> None:
        super().__init__(name="dualbook-bench-sealer", daemon=True)
        self.conninfo = conninfo
        self.every = every
        self.max_entries = max_entries
        self.halt = threading.Event()
        self.calls = 0
        self.entries = 0
        self.busy_s = 0.0
        self.max_pass_s = 0.0
        #: CPU seconds the sealer's backend used (None when the server's processes are not visible here)
        self.cpu_s: float | None = None
        self.error: BaseException | None = None

    def seal_pass(self, conn: psycopg.Connection[Any]) -> int:
        """Seal everything sealable now; returns how many entries."""
        total = 0
        while True:
            row = conn.execute("SELECT status, entries FROM ledger.seal_journal(%s)", (self.max_entries,)).fetchone()
            self.calls += 1
            n = int(row[1]) if row is not None and row[1] is not None else 0
            total += n
            if row is None or row[0] != "sealed" or n < self.max_entries:
                return total

    def run(self) -> None:
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
                backend = conn.info.backend_pid
                before = proc_stat(backend)
                while not self.halt.is_set():
                    started = time.monotonic()
                    self.entries += self.seal_pass(conn)
                    took = time.monotonic() - started
                    self.busy_s += took
                    self.max_pass_s = max(self.max_pass_s, took)
                    self.halt.wait(max(0.0, self.every - took))
                after = proc_stat(backend)
                if before is not None and after is not None:
                    self.cpu_s = after[1] - before[1]
        except BaseException as exc:  # reported by the harness after the point
            self.error = exc


def seal_backlog(conninfo: str) -> int:
    """Seal every entry not sealed yet (untimed, between points); returns how many."""
    sealer = Sealer(conninfo, every=0)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        return sealer.seal_pass(conn)


def unsealed_entries(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM ledger.audit_entries) - (SELECT count(*) FROM ledger.audit_sealed_entries)"
        ).fetchone()
    return int(row[0]) if row is not None else 0
