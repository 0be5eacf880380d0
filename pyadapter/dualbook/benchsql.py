"""`make bench-sql`: the ledger's SQL write path under pgbench, measured against the commit ceiling.

One run measures, on the same server and in the same few minutes:

* ``ceiling`` -- ``sql/bench/ceiling.sql``: one one-row INSERT per transaction into an ordinary logged table
  at READ COMMITTED with ``synchronous_commit = on``; what the machine and its WAL flush allow at all;
* ``post_entry`` -- ``sql/bench/post_entry.sql``: one two-leg ``ledger.post_entry()`` per transaction
  between two distinct random accounts, SERIALIZABLE, retried by pgbench on serialization failures
  (``--max-tries``), at each client count asked for.

With ``--write-set`` (throwaway cluster only) two diagnostic points follow: ``sql/bench/write_set.sql``, the
same rows one posting writes in one plain SQL statement straight into ``ledger_private`` (no PL/pgSQL), at the
largest client count, SERIALIZABLE (``write_set``) and READ COMMITTED (``write_set_rc``). They split post_entry's
cost into "the schema's writes under SSI" and "the function around them".

With ``--sealer SECONDS`` each post_entry point becomes four, A B B A: post_entry, twice ``post_entry+sealer`` —
the same workload at the same client count while the tamper-evident journal's sealer (``ledger.seal_journal()``,
docs/audit.md) runs every SECONDS on its own connection, as ``dualbook audit seal --every SECONDS`` would — and
post_entry again. The backlog of the points before is sealed first (untimed), so the sealer only has the point's own
entries to seal. The mean of the sealed points is reported against the mean of the plain ones (the issue's target:
at least 0.9x), together with what the sealer did; the A B B A order cancels a steady drift of the machine's load.

Each post_entry figure is reported as a ratio of the ceiling measured in the same run (absolute numbers drift
between runs and machines; ratios measured side by side do not drift much). See docs/performance.md.

Where the database comes from:

* ``DATABASE_URL`` set: that database, with the ledger already deployed; the bench accounts get their own code
  prefix (default ``dualbook-bench``) and are reused by later runs (``ledger.create_account`` is idempotent);
  the ceiling table goes to the schema ``dualbook_bench``.
* otherwise: a throwaway cluster (``shared_buffers=1GB``, ``max_connections=200``, the embedded cluster's
  durable settings otherwise), the schema deployed with Sqitch into a database ``bench``; removed afterwards.

Example::

    python -m dualbook.benchsql --seconds 15 --accounts 100000 --clients 8,32 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psycopg

from dualbook import migrate
from dualbook.cluster import pg_bindir
from dualbook.config import mask_url, project_root
from dualbook.errors import DualbookError
from dualbook.testing import throwaway_cluster

# Server settings of the throwaway cluster, on top of dualbook.cluster.SERVER_SETTINGS (fsync, synchronous
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


@dataclass(frozen=True)
class WorkloadResult:
    """One measured point: a workload at a client count, and its ratio to the ceiling of the same run."""

    name: str
    clients: int
    seconds: int
    isolation: str
    tps: float
    transactions: int
    retried: int
    retried_pct: float
    failed: int
    failed_pct: float
    latency_avg_ms: float
    ratio: float
    ratio_of: str
    server_cpu_us_per_tx: float | None = None
    pgbench_cpu_us_per_tx: float | None = None
    other_cpu_pct: float | None = None
    #: post_entry+sealer only: what the sealer did during the point
    sealer_every_s: float | None = None
    sealer_calls: int | None = None
    sealed_entries: int | None = None
    sealer_busy_pct: float | None = None
    sealer_max_pass_ms: float | None = None
    unsealed_at_end: int | None = None
    #: CPU of the sealer's backend per entry it sealed (None when the server is not local)
    sealer_cpu_us_per_entry: float | None = None


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: by the whole machine (None off Linux), by the server's processes (None when
    the server is not a local process we can see) and by this process and its children (pgbench)."""

    wall: float
    machine_busy_s: float | None
    server_s: float | None
    server_children: int
    ours_s: float


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


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU s, reaped children's CPU s) of a process from /proc/<pid>/stat, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 (state) of proc(5)
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return int(fields[1]), (utime + stime) / _TICK, (cutime + cstime) / _TICK


def _machine_busy_s() -> float | None:
    """CPU seconds all CPUs spent busy since boot (/proc/stat: everything but idle and iowait)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    values = [int(x) for x in first[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICK


def _server_cpu_s(postmaster: int | None) -> tuple[float | None, int]:
    """CPU seconds of a postmaster and all its descendants (live or reaped), and its live child count.

    Backends are the postmaster's children; when one exits, the postmaster reaps it and the kernel adds its CPU
    time to the postmaster's 'children' counters, so nothing a finished pgbench connection used is lost.
    """
    if postmaster is None:
        return None, 0
    total, children = 0.0, 0
    for _ in range(20):
        top = _proc_stat(postmaster)
        if top is None:
            return None, 0
        total = top[1] + top[2]
        children = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                st = _proc_stat(int(entry.name))
                if st is not None and st[0] == postmaster:
                    total += st[1] + st[2]
                    children += 1
        # A child reaped while /proc was being read has moved its CPU into the postmaster's 'children' counters
        # after they were read: it would be counted nowhere. Read again until nothing was reaped meanwhile.
        again = _proc_stat(postmaster)
        if again is None or again[2] == top[2]:
            break
    return total, children


def _cpu_sample(postmaster: int | None) -> CpuSample:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    server, children = _server_cpu_s(postmaster)
    return CpuSample(
        wall=time.monotonic(),
        machine_busy_s=_machine_busy_s(),
        server_s=server,
        server_children=children,
        ours_s=own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
    )


def _wait_backends_gone(postmaster: int | None, children: int, timeout: float = 5.0) -> None:
    """After pgbench exits, wait (bounded) until its backends have exited and been reaped."""
    deadline = time.monotonic() + timeout
    while postmaster is not None and time.monotonic() < deadline:
        if _server_cpu_s(postmaster)[1] <= children:
            return
        time.sleep(0.05)


def local_postmaster_pid(conninfo: str) -> int | None:
    """The postmaster's pid when the server runs on this machine and we can see it in /proc, else None."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid(), inet_server_addr()::text").fetchone()
    if row is None:
        return None
    backend, addr = int(row[0]), row[1]
    if addr is not None and str(addr).split("/")[0] not in ("127.0.0.1", "::1"):
        return None
    st = _proc_stat(backend)
    if st is None:
        return None
    try:
        if not Path(f"/proc/{st[0]}/comm").read_text().startswith("postgres"):
            return None
    except OSError:
        return None
    return st[0]


def bench_dir() -> Path:
    """sql/bench/ of the project checkout (the pgbench scripts)."""
    return project_root() / "sql" / "bench"


def code_width(accounts: int) -> int:
    """Digits in a bench account code: 'bench:000001' for up to 999,999 accounts, wider beyond."""
    return max(6, len(str(accounts)))


def account_code(prefix: str, n: int, accounts: int) -> str:
    """The code of bench account n (1-based), as the loader and sql/bench/post_entry.sql spell it."""
    return f"{prefix}:{n:0{code_width(accounts)}d}"


def _stderr(line: str) -> None:
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


def prepare(conninfo: str, prefix: str, accounts: int, progress: Progress = _stderr) -> None:
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


def _checkpoint(conninfo: str) -> None:
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
    progress: Progress = _stderr,
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
                before = _proc_stat(backend)
                while not self.halt.is_set():
                    started = time.monotonic()
                    self.entries += self.seal_pass(conn)
                    took = time.monotonic() - started
                    self.busy_s += took
                    self.max_pass_s = max(self.max_pass_s, took)
                    self.halt.wait(max(0.0, self.every - took))
                after = _proc_stat(backend)
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


def run_benchmark(
    conninfo: str,
    prefix: str,
    seconds: int = DEFAULT_SECONDS,
    accounts: int = DEFAULT_ACCOUNTS,
    clients: Sequence[int] = DEFAULT_CLIENTS,
    progress: Progress = _stderr,
    write_set: bool = False,
    sealer: float | None = None,
) -> list[WorkloadResult]:
    """Prepare the database, then measure the ceiling at max(clients) and post_entry at each client count
    (and, with write_set, the diagnostic write set at max(clients), SERIALIZABLE then READ COMMITTED; with
    sealer, after each post_entry point the same point with the sealer running every ``sealer`` seconds)."""
    if accounts < 2:
        raise BenchError("--accounts must be at least 2 (a posting moves money between two accounts)")
    if not clients or min(clients) < 1:
        raise BenchError("--clients must list positive client counts")
    progress(f"loading {accounts:,} accounts with prefix '{prefix}:' ...")
    prepare(conninfo, prefix, accounts, progress)
    ceiling_clients = max(clients)
    # (name, script, clients, isolation, whether the script takes the posting variables)
    plan: list[tuple[str, str, int, str, bool]] = [(CEILING, "ceiling.sql", ceiling_clients, "read committed", False)]
    for c in clients:
        plan.append((POST_ENTRY, "post_entry.sql", c, "serializable", True))
        if sealer is not None:
            # A B B A: a drift in the machine's load during the four points cancels out of the averages
            plan.append((POST_ENTRY_SEALED, "post_entry.sql", c, "serializable", True))
            plan.append((POST_ENTRY_SEALED, "post_entry.sql", c, "serializable", True))
            plan.append((POST_ENTRY, "post_entry.sql", c, "serializable", True))
    if write_set:
        plan += [
            (WRITE_SET, "write_set.sql", ceiling_clients, "serializable", True),
            (WRITE_SET_RC, "write_set.sql", ceiling_clients, "read committed", True),
        ]
    run_tag = f"{prefix}-{int(time.time())}-{os.getpid()}"
    postmaster = local_postmaster_pid(conninfo)
    ncpu = os.cpu_count() or 1
    ceiling_tps = 0.0
    results: list[WorkloadResult] = []
    for i, (name, script, c, isolation, posting_vars) in enumerate(plan, 1):
        progress(f"[{i}/{len(plan)}] {name}, {c} clients, {isolation}, {seconds} s ...")
        _checkpoint(conninfo)
        defines = None
        if posting_vars:
            defines = {
                "accounts": str(accounts),
                "prefix": prefix,
                "width": str(code_width(accounts)),
                "run": f"{run_tag}-{i}",  # idempotency keys: distinct per pgbench invocation
                "n": "0",
            }
        sealing: Sealer | None = None
        if name == POST_ENTRY_SEALED and sealer is not None:
            progress(f"      sealing the backlog first: {seal_backlog(conninfo):,} entries")
            sealing = Sealer(conninfo, sealer)
        before = _cpu_sample(postmaster)
        if sealing is not None:
            sealing.start()
        try:
            summary = run_pgbench(conninfo, bench_dir() / script, c, seconds, isolation, defines, progress)
        finally:
            if sealing is not None:
                sealing.halt.set()
                sealing.join()
        _wait_backends_gone(postmaster, before.server_children + (1 if sealing is not None else 0))
        after = _cpu_sample(postmaster)
        if sealing is not None and sealing.error is not None:
            raise BenchError(f"the sealer failed during {name}: {sealing.error}")
        per_tx = 1e6 / max(summary.transactions, 1)
        server_s = (
            after.server_s - before.server_s if after.server_s is not None and before.server_s is not None else None
        )
        ours_s = after.ours_s - before.ours_s
        other_pct = None
        if server_s is not None and after.machine_busy_s is not None and before.machine_busy_s is not None:
            others_s = (after.machine_busy_s - before.machine_busy_s) - server_s - ours_s
            other_pct = round(max(0.0, 100 * others_s / ((after.wall - before.wall) * ncpu)), 1)
        if name == CEILING:
            ceiling_tps = summary.tps
        ratio = summary.tps / ceiling_tps if ceiling_tps > 0 else 0.0
        result = WorkloadResult(
            name=name,
            clients=c,
            seconds=seconds,
            isolation=isolation,
            tps=summary.tps,
            transactions=summary.transactions,
            retried=summary.retried,
            retried_pct=summary.retried_pct,
            failed=summary.failed,
            failed_pct=summary.failed_pct,
            latency_avg_ms=summary.latency_avg_ms,
            ratio=round(ratio, 4),
            ratio_of=f"{CEILING}@{ceiling_clients}",
            server_cpu_us_per_tx=round(server_s * per_tx, 1) if server_s is not None else None,
            pgbench_cpu_us_per_tx=round(ours_s * per_tx, 1),
            other_cpu_pct=other_pct,
        )
        if sealing is not None:
            result = replace(
                result,
                sealer_every_s=sealing.every,
                sealer_calls=sealing.calls,
                sealed_entries=sealing.entries,
                sealer_busy_pct=round(100 * sealing.busy_s / max(after.wall - before.wall, 1e-9), 2),
                sealer_max_pass_ms=round(1000 * sealing.max_pass_s, 1),
                unsealed_at_end=unsealed_entries(conninfo),
                sealer_cpu_us_per_entry=(
                    round(1e6 * sealing.cpu_s / sealing.entries, 1)
                    if sealing.cpu_s is not None and sealing.entries
                    else None
                ),
            )
            progress(
                f"      sealer: {sealing.entries:,} entries in {sealing.calls:,} calls, busy "
                f"{result.sealer_busy_pct}% of the time, longest pass {result.sealer_max_pass_ms} ms, "
                f"{result.unsealed_at_end:,} not sealed at the end, sealer CPU "
                f"{_fmt(result.sealer_cpu_us_per_entry, ' us/entry', 1)}"
            )
        results.append(result)
        progress(
            f"      -> {result.tps:,.0f} tps, {result.retried_pct:.3f}% retried, {result.failed_pct:.3f}% failed, "
            f"latency {result.latency_avg_ms:.2f} ms, {result.ratio:.3f}x ceiling, "
            f"server CPU {_fmt(result.server_cpu_us_per_tx, ' us/tx')}, "
            f"other processes {_fmt(result.other_cpu_pct, '% of the CPUs')}"
        )
    return results


def _fmt(value: float | None, unit: str, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


def format_table(results: Sequence[WorkloadResult]) -> str:
    """An aligned text table of the results, one line per workload."""
    header = (
        "workload",
        "clients",
        "tps",
        "transactions",
        "retried",
        "failed",
        "latency avg",
        "ratio",
        "server CPU/tx",
        "others' CPU",
    )
    rows = [
        (
            r.name,
            str(r.clients),
            f"{r.tps:,.0f}",
            f"{r.transactions:,}",
            f"{r.retried:,} ({r.retried_pct:.3f}%)",
            f"{r.failed:,} ({r.failed_pct:.3f}%)",
            f"{r.latency_avg_ms:.2f} ms",
            f"{r.ratio:.3f}x {r.ratio_of}",
            _fmt(r.server_cpu_us_per_tx, " us"),
            _fmt(r.other_cpu_pct, "%"),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left = {0, 7}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
    return "\n".join(s.rstrip() for s in out)


def target_verdict(results: Sequence[WorkloadResult], clients: int = 32) -> str | None:
    """The issue's target: post_entry at `clients` clients >= 0.35x the ceiling, < 0.5% retried, 0 failed."""
    for r in results:
        if r.name == POST_ENTRY and r.clients == clients:
            ok = r.ratio >= 0.35 and r.retried_pct < 0.5 and r.failed == 0
            return (
                f"target (post_entry@{clients} >= 0.35x ceiling, < 0.5% retried, 0 failed): "
                f"{'MET' if ok else 'MISSED'} -- {r.ratio:.3f}x, {r.retried_pct:.3f}% retried, {r.failed} failed"
            )
    return None


def sealer_verdict(results: Sequence[WorkloadResult]) -> list[str]:
    """Per client count with post_entry+sealer points: their mean tps against the mean of the post_entry points at
    the same client count (measured A B B A around them; the issue's target: at least 0.9x), and what the sealer
    did."""
    lines = []
    for c in sorted({r.clients for r in results if r.name == POST_ENTRY_SEALED}):
        plain = [r for r in results if r.name == POST_ENTRY and r.clients == c]
        sealed = [r for r in results if r.name == POST_ENTRY_SEALED and r.clients == c]
        base = sum(r.tps for r in plain) / len(plain) if plain else 0.0
        if base <= 0:
            continue
        tps = sum(r.tps for r in sealed) / len(sealed)
        ratio = tps / base
        cpu_plain = [r.server_cpu_us_per_tx for r in plain if r.server_cpu_us_per_tx is not None]
        cpu_sealed = [r.server_cpu_us_per_tx for r in sealed if r.server_cpu_us_per_tx is not None]
        cpu = (
            f"server CPU/tx {sum(cpu_sealed) / len(cpu_sealed):,.0f} us vs {sum(cpu_plain) / len(cpu_plain):,.0f} us"
            if cpu_plain and cpu_sealed
            else "server CPU/tx n/a"
        )
        per_entry = [r.sealer_cpu_us_per_entry for r in sealed if r.sealer_cpu_us_per_entry is not None]
        if per_entry and cpu_plain:
            mean = sum(per_entry) / len(per_entry)
            cpu += (
                f"; the sealer's own CPU {mean:,.1f} us per entry = "
                f"{100 * mean / (sum(cpu_plain) / len(cpu_plain)):.1f}% of a posting's server CPU"
            )
        lines.append(
            f"sealer every {sealed[0].sealer_every_s:g} s at {c} clients: {tps:,.0f} tps vs {base:,.0f} without "
            f"(means of {len(sealed)} and {len(plain)} points) = {ratio:.3f}x (target >= {SEALER_TARGET}x: "
            f"{'MET' if ratio >= SEALER_TARGET else 'MISSED'}); sealed {sum(r.sealed_entries or 0 for r in sealed):,} "
            f"entries in {sum(r.sealer_calls or 0 for r in sealed):,} calls, sealer busy "
            f"{max(r.sealer_busy_pct or 0 for r in sealed)}% of the time at most, longest pass "
            f"{max(r.sealer_max_pass_ms or 0 for r in sealed)} ms, {sum(r.unsealed_at_end or 0 for r in sealed):,} "
            f"not sealed at the ends; {cpu}"
        )
    return lines


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _clients(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of client counts: {text!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("client counts must be positive")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m dualbook.benchsql``."""
    p = argparse.ArgumentParser(
        prog="python -m dualbook.benchsql",
        description="pgbench: the commit ceiling vs ledger.post_entry() under SERIALIZABLE, in one run. "
        "Uses DATABASE_URL (ledger deployed) when set, else a throwaway cluster.",
        epilog="Example: python -m dualbook.benchsql --seconds 15 --clients 8,32 --json bench.json",
    )
    p.add_argument("--seconds", type=_positive, default=DEFAULT_SECONDS, help="duration of each point (default 15)")
    p.add_argument(
        "--accounts", type=_positive, default=DEFAULT_ACCOUNTS, help="accounts to spread postings over (100000)"
    )
    p.add_argument(
        "--clients",
        type=_clients,
        default=list(DEFAULT_CLIENTS),
        help="post_entry client counts, comma-separated (default 8,32); the ceiling runs at the largest",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--prefix", help="account code prefix (default 'bench', or 'dualbook-bench' with DATABASE_URL)")
    p.add_argument(
        "--write-set",
        action="store_true",
        help="diagnostic (throwaway cluster only): also measure post_entry's rows written by plain SQL",
    )
    p.add_argument(
        "--sealer",
        type=_positive_float,
        metavar="SECONDS",
        help="after each post_entry point, measure it again with the journal's sealer running every SECONDS",
    )
    p.add_argument("--keep", action="store_true", help="keep the throwaway cluster running afterwards (for profiling)")
    return p


def _write_json(path: Path, results: Sequence[WorkloadResult], meta: dict[str, object]) -> None:
    doc = {"meta": meta, "workloads": [asdict(r) for r in results]}
    path.write_text(json.dumps(doc, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the benchmark, print the table (stdout) and progress (stderr), write --json."""
    args = build_parser().parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    meta: dict[str, object] = {
        "seconds": args.seconds,
        "accounts": args.accounts,
        "max_tries": MAX_TRIES,
        "pgbench_threads": PGBENCH_THREADS,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    started = time.monotonic()
    try:
        if url:
            if args.write_set:
                raise BenchError("--write-set writes straight into ledger_private: throwaway cluster only")
            prefix = args.prefix or EXTERNAL_PREFIX
            _stderr(f"bench-sql against DATABASE_URL {mask_url(url)}")
            meta["server_version"] = check_deployed(url)
            meta["database"] = "DATABASE_URL"
            results = run_benchmark(url, prefix, args.seconds, args.accounts, args.clients, sealer=args.sealer)
        else:
            prefix = args.prefix or MANAGED_PREFIX
            _stderr("starting a throwaway cluster (" + ", ".join(f"{k}={v}" for k, v in BENCH_SETTINGS.items()) + ")")
            with throwaway_cluster(settings=BENCH_SETTINGS, keep=args.keep) as cluster:
                cluster.create_database("bench")
                _stderr("deploying the ledger with Sqitch ...")
                migrate.deploy(cluster.url("bench"), capture=True)
                conninfo = cluster.conninfo("bench")  # the unix socket: no TCP in the measured path
                if args.keep:
                    _stderr(f"the cluster stays up afterwards: psql '{conninfo}'")
                meta["server_version"] = check_deployed(conninfo)
                meta["database"] = "throwaway cluster"
                meta["server_settings"] = dict(BENCH_SETTINGS)
                results = run_benchmark(
                    conninfo,
                    prefix,
                    args.seconds,
                    args.accounts,
                    args.clients,
                    write_set=args.write_set,
                    sealer=args.sealer,
                )
    except (DualbookError, psycopg.Error) as exc:
        print(f"bench-sql: error: {exc}", file=sys.stderr)
        return 1
    meta["elapsed_s"] = round(time.monotonic() - started, 1)
    print(format_table(results))
    verdict = target_verdict(results)
    if verdict:
        print(verdict)
    for line in sealer_verdict(results):
        print(line)
    if args.json:
        _write_json(args.json, results, meta)
        _stderr(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
