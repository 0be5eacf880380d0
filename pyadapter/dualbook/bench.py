"""`make bench` / `dualbook bench`: issue 7's workloads measured side by side in one run.

One run, on one server, in the same minutes (absolute numbers drift between runs and machines; the targets are
ratios measured side by side):

* ``ceiling`` -- the commit ceiling of ``make bench-sql`` (``sql/bench/ceiling.sql``): one one-row INSERT per
  transaction, READ COMMITTED, ``--clients`` clients;
* ``P1`` uniform -- ``sql/bench/post_entry.sql``: one 2-leg ``ledger.post_entry()`` per transaction between two
  random accounts among ``--accounts``, SERIALIZABLE; ratio of the ceiling;
* ``P2`` hot account -- ``sql/bench/hot_account.sql``: a 3-leg payment whose fee leg credits ONE house account
  (an income account created deferred, no limits) while a sequencer thread calls ``ledger.sequence_deferred()``
  as ``dualbook sequencer --every 0.2`` does; afterwards the queue is drained and the certification invariants
  (``dualbook.certify.check_invariants``) are checked; ratio of P1;
* ``P2b`` hot limited -- ``sql/bench/hot_limited.sql``: every entry debits one of 10 funded liabilities with
  ``lower_limit 0``; the inherent floor of hot accounts with limits; ratio of P1;
* ``P3`` adapter -- ``--adapter-threads`` Python threads, each its own :class:`~dualbook.ledger.Ledger` (one
  connection), 2-leg uniform entries through ``Ledger.post_entry``, per-call latency including retries;
  ratio of P1;
* ``P4xN`` batch -- ``sql/bench/post_entries.sql``: ``ledger.post_entries()`` with N random 2-leg entries per
  call (``--batch-sizes``) at ``--batch-clients`` clients; postings/s = calls/s x N; ratio of the ceiling;
* ``P5`` scale -- the journal is bulk-loaded through ``ledger.post_entries()`` (batches of 1000 entries between
  100 consecutive accounts, from ``--loader-connections`` connections, each on its own slice of the accounts,
  the window moving on with every batch) until it holds
  ``--scale-postings`` postings, then P1 again; ratio of P1 (on the small journal).

A *posting* here is one entry (a journal entry of 2 or 3 legs), as in the issue's "postings/s". Percentiles of
the pgbench workloads come from pgbench's per-transaction log (``--log``): the latency of each successful
transaction including its retries; P3's are measured around each ``Ledger.post_entry`` call.

The database: ``DATABASE_URL`` (ledger deployed; accounts prefixed ``dualbook-bench``) or a throwaway cluster with
the settings of ``make bench-sql`` (``dualbook.benchsql.BENCH_SETTINGS``), removed afterwards unless ``keep``.
Results: a table on stdout, progress on stderr, ``bench-results.json`` and ``bench-results.md`` in ``out``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dualbook import benchsql, certify, migrate
from dualbook.benchsql import BenchError, CpuSample, PgbenchSummary
from dualbook.config import mask_url
from dualbook.errors import DualbookError
from dualbook.ledger import Ledger
from dualbook.retry import RetryPolicy
from dualbook.testing import throwaway_cluster

DEFAULT_SECONDS = 15
DEFAULT_ACCOUNTS = 100_000
DEFAULT_CLIENTS = 32
DEFAULT_BATCH_SIZES = (1, 10, 100)
DEFAULT_BATCH_CLIENTS = 2
DEFAULT_ADAPTER_THREADS = 16
DEFAULT_SCALE_POSTINGS = 5_000_000
DEFAULT_LOADER_CONNECTIONS = 2
LOADER_BATCH = 1000  # post_entries' maximum
LOADER_SPAN = 100  # consecutive accounts one loader batch posts between
LIMITED_ACCOUNTS = 10
LIMITED_FUNDING = 10**14  # minor units per limited account: far more than a run can debit
SEQUENCER_EVERY = 0.2  # seconds between sequencer passes, as `dualbook sequencer --every 0.2`
SEQUENCER_MAX = 10_000
JSON_NAME = "bench-results.json"
MD_NAME = "bench-results.md"

CEILING = "ceiling"
P1 = "P1"
P2 = "P2"
P2B = "P2b"
P3 = "P3"
P5 = "P5"

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def batch_name(n: int) -> str:
    """The workload name of the batch point with n entries per call."""
    return f"P4x{n}"


@dataclass(frozen=True)
class BenchOptions:
    """What one run measures (the command line's options)."""

    seconds: int = DEFAULT_SECONDS
    accounts: int = DEFAULT_ACCOUNTS
    clients: int = DEFAULT_CLIENTS
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES
    batch_clients: int = DEFAULT_BATCH_CLIENTS
    adapter_threads: int = DEFAULT_ADAPTER_THREADS
    scale_postings: int = DEFAULT_SCALE_POSTINGS
    skip_scale: bool = False
    loader_connections: int = DEFAULT_LOADER_CONNECTIONS
    out: Path = Path(".")
    keep: bool = False
    #: extra server settings of the throwaway cluster (NAME, VALUE), on top of benchsql.BENCH_SETTINGS
    server_settings: tuple[tuple[str, str], ...] = ()


@dataclass
class Result:
    """One measured workload. ``tps`` counts postings (entries) per second; ``ratio`` = tps / tps of
    ``ratio_of`` (None for the ceiling's own reference)."""

    name: str
    title: str
    clients: int
    tps: float
    retried_pct: float
    failed_pct: float
    p50_ms: float | None
    p99_ms: float | None
    ratio: float | None
    ratio_of: str | None
    calls_per_s: float
    entries_per_call: int
    calls: int
    retried: int
    failed: int
    seconds: float
    other_cpu_pct: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """One row of the issue's targets table, evaluated on a run."""

    figure: str
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


# --- small pure helpers (unit-tested) -----------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending sequence (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def parse_pgbench_log_line(line: str) -> float | None:
    """The latency in ms of one line of pgbench's per-transaction log, None for a failed transaction.

    pgbench 15 writes ``client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]``;
    ``time`` is the latency in microseconds (including retries), or ``serialization`` / ``deadlock`` /
    ``failed`` / ``skipped`` when the transaction did not succeed.
    """
    parts = line.split()
    if len(parts) < 3 or not parts[2].isdigit():
        return None
    return int(parts[2]) / 1000.0


def log_latencies(paths: Iterable[Path]) -> list[float]:
    """Every successful transaction's latency (ms) in pgbench log files, ascending."""
    values: list[float] = []
    for path in paths:
        with path.open() as f:
            for line in f:
                v = parse_pgbench_log_line(line)
                if v is not None:
                    values.append(v)
    values.sort()
    return values


def parse_setting(text: str) -> tuple[str, str]:
    """'name=value' -> ('name', 'value') for --set."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"expected NAME=VALUE, not {text!r}")
    return name.strip(), value.strip()


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """'1,10,100' -> (1, 10, 100); each between 1 and 1000 (post_entries' limit), no duplicates."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"not a comma-separated list of batch sizes: {text!r}") from exc
    if not sizes:
        raise ValueError("no batch size given")
    if min(sizes) < 1 or max(sizes) > LOADER_BATCH:
        raise ValueError(f"batch sizes must be between 1 and {LOADER_BATCH}")
    if len(set(sizes)) != len(sizes):
        raise ValueError("batch sizes must be distinct")
    return sizes


def set_ratios(results: list[Result]) -> None:
    """Fill ``ratio`` of every result from its ``ratio_of`` reference measured in the same run."""
    by_name = {r.name: r for r in results}
    for r in results:
        ref = by_name.get(r.ratio_of) if r.ratio_of else None
        r.ratio = round(r.tps / ref.tps, 4) if ref is not None and ref.tps > 0 else None


def evaluate_targets(results: Sequence[Result]) -> list[Target]:
    """The issue's targets table evaluated on one run's results."""
    by = {r.name: r for r in results}

    def ratio(name: str) -> str:
        r = by[name]
        return f"{r.ratio:.3f}" if r.ratio is not None else "n/a"

    out: list[Target] = []
    p1 = by.get(P1)
    if p1 is not None:
        ok = p1.ratio is not None and p1.ratio >= 0.5 and p1.retried_pct < 0.5 and p1.failed == 0
        out.append(
            Target(
                "P1 / ceiling",
                "≥ 0.5, retried < 0.5%, failed 0",
                f"{ratio(P1)}, retried {p1.retried_pct:.3f}%, failed {p1.failed}",
                ok,
            )
        )
    p2 = by.get(P2)
    if p2 is not None:
        check = p2.extras.get("invariants_ok")
        ok = p2.ratio is not None and p2.ratio >= 0.8 and p2.failed == 0
        out.append(
            Target(
                "P2 / P1",
                "≥ 0.8, failed 0",
                f"{ratio(P2)}, failed {p2.failed} (invariants {'hold' if check else 'VIOLATED'})",
                ok,
            )
        )
    p3 = by.get(P3)
    if p3 is not None:
        ok = p3.ratio is not None and p3.ratio >= 0.7 and p3.p99_ms is not None and p3.p99_ms <= 11.0
        p99 = f"{p3.p99_ms:.2f} ms" if p3.p99_ms is not None else "n/a"
        out.append(Target("P3 / P1, P3 p99", "≥ 0.7, p99 ≤ 11 ms", f"{ratio(P3)}, p99 {p99}", ok))
    p4 = by.get(batch_name(100))
    out.append(
        Target("P4 (100 per call) / ceiling", "≥ 2.0", ratio(p4.name), p4.ratio is not None and p4.ratio >= 2.0)
        if p4 is not None
        else Target("P4 (100 per call) / ceiling", "≥ 2.0", "not measured (100 not in --batch-sizes)", None)
    )
    p5 = by.get(P5)
    out.append(
        Target("P5 / P1", "≥ 0.9", ratio(P5), p5.ratio is not None and p5.ratio >= 0.9)
        if p5 is not None
        else Target("P5 / P1", "≥ 0.9", "not measured (--skip-scale)", None)
    )
    return out


def _ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def format_table(results: Sequence[Result]) -> str:
    """The results as an aligned text table."""
    header = ("workload", "clients", "postings/s", "calls/s", "retried", "failed", "p50 ms", "p99 ms", "ratio")
    rows = [
        (
            f"{r.name} {r.title}",
            str(r.clients),
            f"{r.tps:,.0f}",
            f"{r.calls_per_s:,.0f}",
            f"{r.retried_pct:.3f}%",
            f"{r.failed_pct:.3f}%",
            _ms(r.p50_ms),
            _ms(r.p99_ms),
            f"{r.ratio:.3f}x {r.ratio_of}" if r.ratio is not None and r.ratio_of else "-",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    left = {0, 8}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "**missed**")


def format_markdown(results: Sequence[Result], targets: Sequence[Target], meta: dict[str, Any]) -> str:
    """bench-results.md: the results table, the targets with their verdicts, and the machine."""
    lines = [
        "# dualbook `make bench` results",
        "",
        f"Run finished {meta.get('finished_at', '?')}, {meta.get('elapsed_s', '?')} s; "
        f"{meta.get('seconds')} s per point, {meta.get('accounts'):,} accounts. A posting = one entry.",
        "",
        "| workload | clients | postings/s | calls/s | retried | failed | p50 ms | p99 ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ratio = f"{r.ratio:.3f}x {r.ratio_of}" if r.ratio is not None and r.ratio_of else "-"
        lines.append(
            f"| {r.name} {r.title} | {r.clients} | {r.tps:,.0f} | {r.calls_per_s:,.0f} | {r.retried_pct:.3f}% | "
            f"{r.failed_pct:.3f}% | {_ms(r.p50_ms)} | {_ms(r.p99_ms)} | {ratio} |"
        )
    lines += ["", "## Targets", "", "| figure | target | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.figure} | {t.target} | {t.measured} | {_verdict(t.met)} |" for t in targets]
    cost = [r for r in results if "wal_bytes_per_call" in r.extras or "server_cpu_us_per_call" in r.extras]
    if cost:
        lines += [
            "",
            "## Server cost per call",
            "",
            "Per successful call during the point: the server's CPU (all its processes), WAL written (records, "
            "full-page images, bytes; pg_stat_wal), blocks read into shared_buffers and found there "
            "(pg_stat_database).",
            "",
            "| workload | server CPU µs | WAL records | full-page images | WAL bytes | blocks read | blocks hit |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]

        def cell(r: Result, key: str) -> str:
            v = r.extras.get(key)
            return "n/a" if v is None else f"{v:,.1f}"

        for r in cost:
            keys = ("server_cpu_us", "wal_records", "wal_fpi", "wal_bytes", "blks_read", "blks_hit")
            lines.append(f"| {r.name} | " + " | ".join(cell(r, f"{k}_per_call") for k in keys) + " |")
    notes = [f"- {r.name}: {r.extras['note']}" for r in results if r.extras.get("note")]
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += ["", "## Machine", ""]
    machine = meta.get("machine_info", {})
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    lines += [
        "- others' CPU per point (% of all CPUs used by processes other than the server and the bench): "
        + ", ".join(f"{r.name} {r.other_cpu_pct}%" for r in results if r.other_cpu_pct is not None),
        "",
    ]
    return "\n".join(lines)


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
def _serializable(conninfo: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(conninfo)
    conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    return conn


def prepare(conninfo: str, prefix: str, accounts: int, progress: Progress = _stderr) -> None:
    """bench-sql's preparation (ceiling table, the uniform accounts), plus the house account (deferred income),
    the 10 limited liabilities (lower_limit 0) and their funding -- all through the API, idempotently."""
    benchsql.prepare(conninfo, prefix, accounts, progress)
    with _serializable(conninfo) as conn, conn.transaction():
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


def _other_cpu_pct(before: CpuSample, after: CpuSample) -> float | None:
    if after.server_s is None or before.server_s is None or after.machine_busy_s is None:
        return None
    if before.machine_busy_s is None:
        return None
    others = (after.machine_busy_s - before.machine_busy_s) - (after.server_s - before.server_s)
    others -= after.ours_s - before.ours_s
    return round(max(0.0, 100 * others / ((after.wall - before.wall) * (os.cpu_count() or 1))), 1)


class Runner:
    """Runs the points against one database and collects the results."""

    def __init__(self, conninfo: str, prefix: str, opts: BenchOptions, progress: Progress = _stderr) -> None:
        self.conninfo = conninfo
        self.prefix = prefix
        self.opts = opts
        self.progress = progress
        self.run_tag = f"{prefix}-{int(time.time())}-{os.getpid()}"
        self.postmaster = benchsql.local_postmaster_pid(conninfo)
        self.point = 0

    def defines(self, **more: int) -> dict[str, str]:
        self.point += 1
        d = {
            "accounts": str(self.opts.accounts),
            "prefix": self.prefix,
            "width": str(benchsql.code_width(self.opts.accounts)),
            "run": f"{self.run_tag}-{self.point}",
            "n": "0",
        }
        d.update({k: str(v) for k, v in more.items()})
        return d

    def pgbench(self, script: str, clients: int, isolation: str, defines: dict[str, str] | None = None) -> Measured:
        benchsql._checkpoint(self.conninfo)
        with tempfile.TemporaryDirectory(prefix="dualbook-bench-log-") as logdir:
            c0 = server_counters(self.conninfo)
            before = benchsql._cpu_sample(self.postmaster)
            summary = benchsql.run_pgbench(
                self.conninfo,
                benchsql.bench_dir() / script,
                clients,
                self.opts.seconds,
                isolation,
                defines,
                self.progress,
                extra_args=("--log", f"--log-prefix={Path(logdir) / 'tx'}"),
            )
            benchsql._wait_backends_gone(self.postmaster, before.server_children)
            after = benchsql._cpu_sample(self.postmaster)
            c1 = server_counters(self.conninfo)
            latencies = log_latencies(sorted(Path(logdir).glob("tx*")))
        return Measured(summary, latencies, before, after, per_call(before, after, c0, c1, summary.transactions))

    def result(
        self,
        name: str,
        title: str,
        clients: int,
        m: Measured,
        ratio_of: str | None,
        entries_per_call: int = 1,
        extras: dict[str, Any] | None = None,
    ) -> Result:
        s = m.summary
        r = Result(
            name=name,
            title=title,
            clients=clients,
            tps=round(s.tps * entries_per_call, 1),
            retried_pct=s.retried_pct,
            failed_pct=s.failed_pct,
            p50_ms=percentile(m.latencies, 50),
            p99_ms=percentile(m.latencies, 99),
            ratio=None,
            ratio_of=ratio_of,
            calls_per_s=round(s.tps, 1),
            entries_per_call=entries_per_call,
            calls=s.transactions,
            retried=s.retried,
            failed=s.failed,
            seconds=float(self.opts.seconds),
            other_cpu_pct=_other_cpu_pct(m.before, m.after),
            extras={**m.counters, **(extras or {})},
        )
        self.report(r)
        return r

    def report(self, r: Result) -> None:
        self.progress(
            f"      -> {r.tps:,.0f} postings/s ({r.calls_per_s:,.0f} calls/s), {r.retried_pct:.3f}% retried, "
            f"{r.failed_pct:.3f}% failed, p50 {_ms(r.p50_ms)} ms, p99 {_ms(r.p99_ms)} ms, "
            f"others' CPU {r.other_cpu_pct if r.other_cpu_pct is not None else 'n/a'}%"
        )
        if "server_cpu_us_per_call" in r.extras or "wal_bytes_per_call" in r.extras:
            self.progress(
                "         per call: server CPU "
                + str(r.extras.get("server_cpu_us_per_call", "n/a"))
                + " us, WAL "
                + str(r.extras.get("wal_bytes_per_call", "n/a"))
                + " bytes ("
                + str(r.extras.get("wal_fpi_per_call", "n/a"))
                + " full-page images), blocks read "
                + str(r.extras.get("blks_read_per_call", "n/a"))
                + ", hit "
                + str(r.extras.get("blks_hit_per_call", "n/a"))
            )

    # --- the workloads --------------------------------------------------------------------------------------
    def ceiling(self) -> Result:
        self.progress(f"[ceiling] one-row INSERT per transaction, {self.opts.clients} clients ...")
        m = self.pgbench("ceiling.sql", self.opts.clients, "read committed")
        return self.result(CEILING, "commit ceiling (1-row INSERT)", self.opts.clients, m, None)

    def uniform(self, name: str = P1, title: str = "uniform post_entry") -> Result:
        self.progress(f"[{name}] post_entry, 2 legs, uniform, {self.opts.clients} clients ...")
        m = self.pgbench("post_entry.sql", self.opts.clients, "serializable", self.defines())
        return self.result(name, title, self.opts.clients, m, CEILING if name == P1 else P1)

    def hot_account(self) -> Result:
        house = f"{self.prefix}:house"
        self.progress(f"[P2] 3-leg payments, fee to ONE deferred house account, {self.opts.clients} clients ...")
        seq = Sequencer(self.conninfo)
        seq.drain()  # a clean start: nothing queued before the point
        seq.calls = seq.folded = 0
        seq.start()
        try:
            m = self.pgbench("hot_account.sql", self.opts.clients, "serializable", self.defines())
        finally:
            seq.halt.set()
            seq.join()
        if seq.error is not None:
            raise BenchError(f"the sequencer failed during P2: {seq.error}")
        backlog = queued_legs(self.conninfo, house)
        during = seq.folded
        drained = seq.drain()
        self.progress(
            f"      sequencer: {during:,} legs folded in {seq.calls:,} calls during the point, "
            f"{backlog:,} queued at the end, drained {drained:,}; checking the certification invariants ..."
        )
        started = time.monotonic()
        report = certify.check_invariants(self.conninfo)
        took = time.monotonic() - started
        self.progress(f"      {report} ({took:.1f} s)")
        extras: dict[str, Any] = {
            "house_account": house,
            "sequencer_every_s": SEQUENCER_EVERY,
            "sequencer_legs_folded_during": during,
            "queued_at_end": backlog,
            "drained_after": drained,
            "invariants_ok": report.ok,
            "invariants": str(report).splitlines()[0],
            "invariant_findings": [str(f) for f in report.findings[:20]],
            "note": (
                f"the sequencer folded {during:,} legs during the point, {backlog:,} were queued at its end; after "
                f"draining, dualbook.certify.check_invariants: " + str(report).splitlines()[0]
            ),
        }
        return self.result(P2, "hot account (deferred house)", self.opts.clients, m, P1, extras=extras)

    def hot_limited(self) -> Result:
        self.progress(
            f"[P2b] every entry debits one of {LIMITED_ACCOUNTS} limited accounts, {self.opts.clients} clients ..."
        )
        m = self.pgbench("hot_limited.sql", self.opts.clients, "serializable", self.defines())
        return self.result(P2B, f"hot limited ({LIMITED_ACCOUNTS} accounts)", self.opts.clients, m, P1)

    def batch(self, n: int) -> Result:
        c = self.opts.batch_clients
        self.progress(f"[{batch_name(n)}] post_entries, {n} entries per call, {c} clients ...")
        before, _ = journal_size(self.conninfo)
        m = self.pgbench("post_entries.sql", c, "serializable", self.defines(batch=n))
        after, _ = journal_size(self.conninfo)
        written = after - before
        expected = m.summary.transactions * n
        extras: dict[str, Any] = {"entries_written": written, "entries_expected": expected}
        if written != expected:
            extras["note"] = f"{expected - written:,} entries of successful calls were not posted (rejected)"
        return self.result(batch_name(n), f"post_entries, {n} per call", c, m, CEILING, n, extras)

    def adapter(self) -> Result:
        threads = self.opts.adapter_threads
        self.progress(f"[P3] Python adapter, {threads} threads, Ledger.post_entry, 2 legs uniform ...")
        benchsql._checkpoint(self.conninfo)
        run = f"{self.run_tag}-adapter"
        accounts, width = self.opts.accounts, benchsql.code_width(self.opts.accounts)
        latencies: list[list[float]] = [[] for _ in range(threads)]
        retried = [0] * threads
        failed = [0] * threads
        errors: list[str] = []
        ledgers = [Ledger.connect(self.conninfo, min_size=1, max_size=1, retry=RetryPolicy()) for _ in range(threads)]
        start = threading.Barrier(threads + 1)
        deadline = [0.0]

        def work(i: int) -> None:
            ledger, lat, rng = ledgers[i], latencies[i], random.Random()
            start.wait()
            n = 0
            while time.perf_counter() < deadline[0]:
                n += 1
                a = rng.randint(1, accounts)
                b = rng.randint(1, accounts - 1)
                b = b + 1 if b >= a else b
                amount = rng.randint(1, 100_000)
                legs = [
                    {"account": f"{self.prefix}:{a:0{width}d}", "amount": amount, "currency": "USD"},
                    {"account": f"{self.prefix}:{b:0{width}d}", "amount": -amount, "currency": "USD"},
                ]
                t0 = time.perf_counter()
                try:
                    result = ledger.post_entry(f"{run}:{i}:{n}", legs)
                except DualbookError as exc:
                    failed[i] += 1
                    if len(errors) < 5:
                        errors.append(str(exc))
                    continue
                lat.append((time.perf_counter() - t0) * 1000)
                if result.attempts > 1:
                    retried[i] += 1

        workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
        try:
            for w in workers:
                w.start()
            c0 = server_counters(self.conninfo)
            before = benchsql._cpu_sample(self.postmaster)
            t0 = time.perf_counter()
            deadline[0] = t0 + self.opts.seconds
            start.wait()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - t0
            after = benchsql._cpu_sample(self.postmaster)
        finally:
            for led in ledgers:
                led.close()
        # the pools' backends exit and flush their statistics
        benchsql._wait_backends_gone(self.postmaster, max(0, before.server_children - threads))
        c1 = server_counters(self.conninfo)
        ok = sorted(v for lat in latencies for v in lat)
        n_ok, n_failed, n_retried = len(ok), sum(failed), sum(retried)
        total = max(n_ok + n_failed, 1)
        extras: dict[str, Any] = {
            **per_call(before, after, c0, c1, len(ok)),
            "retries": sum(led.stats.retries for led in ledgers),
            "serialization_failures": sum(led.stats.serialization_failures for led in ledgers),
        }
        if errors:
            extras["note"] = "errors: " + "; ".join(errors)
        r = Result(
            name=P3,
            title="Python adapter (Ledger.post_entry)",
            clients=threads,
            tps=round(n_ok / elapsed, 1),
            retried_pct=round(100 * n_retried / total, 3),
            failed_pct=round(100 * n_failed / total, 3),
            p50_ms=percentile(ok, 50),
            p99_ms=percentile(ok, 99),
            ratio=None,
            ratio_of=P1,
            calls_per_s=round(n_ok / elapsed, 1),
            entries_per_call=1,
            calls=n_ok,
            retried=n_retried,
            failed=n_failed,
            seconds=round(elapsed, 2),
            other_cpu_pct=_other_cpu_pct(before, after),
            extras=extras,
        )
        self.report(r)
        return r

    def load(self, target_postings: int) -> dict[str, Any]:
        """Bulk-load the journal through ledger.post_entries until it holds ``target_postings`` postings."""
        entries0, postings0 = journal_size(self.conninfo)
        missing = max(0, target_postings - postings0)
        todo = (missing + 1) // 2  # 2-leg entries
        conns = max(1, min(self.opts.loader_connections, self.opts.accounts // 2))
        self.progress(
            f"[P5] loading the journal from {postings0:,} to {target_postings:,} postings: {todo:,} 2-leg entries "
            f"through ledger.post_entries, batches of {LOADER_BATCH} over {LOADER_SPAN} accounts, "
            f"{conns} connections ..."
        )
        if todo == 0:
            return {"loaded_entries": 0, "load_s": 0.0, "journal_postings": postings0}
        batches = [LOADER_BATCH] * (todo // LOADER_BATCH) + ([todo % LOADER_BATCH] if todo % LOADER_BATCH else [])
        lock = threading.Lock()
        state = {"next": 0, "done": 0, "retries": 0, "rejected": 0}
        errors: list[BaseException] = []
        started = time.monotonic()
        sql = (benchsql.bench_dir() / "load_entries.sql").read_bytes()

        def take() -> tuple[int, int] | None:
            with lock:
                if errors or state["next"] >= len(batches):
                    return None
                state["next"] += 1
                return state["next"], batches[state["next"] - 1]

        def work(t: int) -> None:
            # Each connection on its own slice of the accounts, and each batch on a window of LOADER_SPAN
            # consecutive accounts of it that moves on with every batch: concurrent batches share no account row,
            # and one batch's SIREAD locks stay a few pages of the account table instead of being promoted to a
            # lock on the whole relation (which made every batch of random accounts conflict with the other
            # connection's). Over the load every account gets about the same number of postings.
            lo0 = 1 + t * self.opts.accounts // conns
            size = (t + 1) * self.opts.accounts // conns - lo0 + 1
            span = min(size, LOADER_SPAN)
            k = 0
            try:
                with _serializable(self.conninfo) as conn:
                    while (job := take()) is not None:
                        number, entries = job
                        params = {
                            "prefix": self.prefix,
                            "width": benchsql.code_width(self.opts.accounts),
                            "key": f"{self.run_tag}-load:{number}:",
                            "n": entries,
                            "lo": lo0 + (k * span) % (size - span + 1),
                            "span": span,
                        }
                        k += 1
                        for attempt in range(1, 21):
                            try:
                                with conn.transaction():
                                    row = conn.execute(sql, params).fetchone()
                                break
                            except psycopg.errors.SerializationFailure:
                                with lock:
                                    state["retries"] += 1
                                if attempt == 20:
                                    raise
                                time.sleep(random.uniform(0, 0.05))
                        with lock:
                            state["done"] += entries
                            state["rejected"] += int(row[0]) if row is not None else 0
            except BaseException as exc:
                with lock:
                    errors.append(exc)

        workers = [threading.Thread(target=work, args=(t,), daemon=True) for t in range(conns)]
        for w in workers:
            w.start()
        last = 0.0
        while any(w.is_alive() for w in workers):
            for w in workers:
                w.join(timeout=0.5)
            now = time.monotonic()
            if now - last >= 5.0:
                last = now
                with lock:
                    done = state["done"]
                rate = done / max(now - started, 1e-9)
                eta = (todo - done) / rate if rate > 0 else float("inf")
                self.progress(
                    f"    loaded {done:,}/{todo:,} entries ({postings0 + 2 * done:,} postings), "
                    f"{rate:,.0f} entries/s, {state['retries']} batch retries, ETA {eta:,.0f} s"
                )
        if errors:
            raise BenchError(f"the P5 loader failed: {errors[0]}")
        if state["rejected"]:
            raise BenchError(f"the P5 loader had {state['rejected']} entries rejected by post_entries")
        took = time.monotonic() - started
        self.progress("    VACUUM (ANALYZE) and CHECKPOINT after the load ...")
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) ledger_private.account, ledger_private.entry, ledger_private.posting")
        benchsql._checkpoint(self.conninfo)
        entries1, postings1 = journal_size(self.conninfo)
        self.progress(
            f"    loaded {entries1 - entries0:,} entries in {took:,.1f} s ({(entries1 - entries0) / took:,.0f}/s); "
            f"the journal holds {entries1:,} entries, {postings1:,} postings"
        )
        return {
            "loaded_entries": entries1 - entries0,
            "load_s": round(took, 1),
            "load_entries_per_s": round((entries1 - entries0) / took, 1),
            "load_batch_retries": state["retries"],
            "loader_connections": conns,
            "journal_postings": postings1,
            "journal_entries": entries1,
        }

    def scale(self) -> Result:
        loaded = self.load(self.opts.scale_postings)
        r = self.uniform(P5, "uniform post_entry on the loaded journal")
        r.extras.update(loaded)
        r.extras["note"] = (
            f"journal of {loaded['journal_postings']:,} postings; loaded {loaded['loaded_entries']:,} entries "
            f"through ledger.post_entries in {loaded['load_s']} s"
        )
        return r


def run_points(conninfo: str, prefix: str, opts: BenchOptions, progress: Progress = _stderr) -> list[Result]:
    """Prepare the database and measure every workload, in order; ratios filled in."""
    if opts.accounts < 2:
        raise BenchError("--accounts must be at least 2")
    progress(f"preparing {opts.accounts:,} accounts with prefix '{prefix}:' ...")
    prepare(conninfo, prefix, opts.accounts, progress)
    runner = Runner(conninfo, prefix, opts, progress)
    results = [runner.ceiling(), runner.uniform(), runner.hot_account(), runner.hot_limited(), runner.adapter()]
    results += [runner.batch(n) for n in opts.batch_sizes]
    if not opts.skip_scale:
        results.append(runner.scale())
    set_ratios(results)
    return results


def _json_doc(results: Sequence[Result], targets: Sequence[Target], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "targets": [asdict(t) for t in targets],
        "workloads": [asdict(r) for r in results],
    }


def run(opts: BenchOptions, progress: Progress = _stderr) -> bool:
    """Run the benchmark, print the tables (stdout), write the results; returns whether the P2 correctness check
    passed. Raises BenchError / psycopg.Error when the run could not complete."""
    url = os.environ.get("DATABASE_URL")
    started = time.monotonic()
    meta: dict[str, Any] = {
        "seconds": opts.seconds,
        "accounts": opts.accounts,
        "clients": opts.clients,
        "batch_sizes": list(opts.batch_sizes),
        "batch_clients": opts.batch_clients,
        "adapter_threads": opts.adapter_threads,
        "scale_postings": None if opts.skip_scale else opts.scale_postings,
        "max_tries": benchsql.MAX_TRIES,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    if url and opts.server_settings:
        raise BenchError("--set applies to the throwaway cluster only: unset DATABASE_URL or configure your server")
    if url:
        prefix = benchsql.EXTERNAL_PREFIX
        progress(f"bench against DATABASE_URL {mask_url(url)}")
        benchsql.check_deployed(url)
        check_owner(url)
        meta["machine_info"] = machine_info(url, "DATABASE_URL")
        results = run_points(url, prefix, opts, progress)
    else:
        prefix = benchsql.MANAGED_PREFIX
        settings = {**benchsql.BENCH_SETTINGS, **dict(opts.server_settings)}
        meta["server_settings"] = settings
        progress("starting a throwaway cluster (" + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")")
        with throwaway_cluster(settings=settings, keep=opts.keep) as cluster:
            cluster.create_database("bench")
            progress("deploying the ledger with Sqitch ...")
            migrate.deploy(cluster.url("bench"), capture=True)
            conninfo = cluster.conninfo("bench")
            if opts.keep:
                progress(f"the cluster stays up afterwards: psql '{conninfo}'")
            benchsql.check_deployed(conninfo)
            meta["machine_info"] = machine_info(conninfo, "throwaway cluster (unix socket)")
            results = run_points(conninfo, prefix, opts, progress)
    meta["machine_info"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["elapsed_s"] = round(time.monotonic() - started, 1)
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    targets = evaluate_targets(results)
    print(format_table(results))
    print()
    for t in targets:
        print(f"{t.figure}: target {t.target}; measured {t.measured}: {_verdict(t.met).strip('*').upper()}")
    p2 = next((r for r in results if r.name == P2), None)
    invariants_ok = bool(p2 is not None and p2.extras.get("invariants_ok"))
    print(f"P2 correctness (certification invariants after draining): {'PASS' if invariants_ok else 'FAIL'}")
    json_path, md_path = opts.out / JSON_NAME, opts.out / MD_NAME
    json_path.write_text(json.dumps(_json_doc(results, targets, meta), indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(format_markdown(results, targets, meta))
    progress(f"wrote {json_path} and {md_path}")
    return invariants_ok
