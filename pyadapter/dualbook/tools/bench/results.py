"""What `dualbook bench` measures and reports: the options, one result per point, the targets and their
verdicts, the table, bench-results.md and bench-results.json."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dualbook.group import GroupPolicy

DEFAULT_SECONDS = 15
DEFAULT_ACCOUNTS = 100_000
DEFAULT_CLIENTS = 32
DEFAULT_BATCH_SIZES = (1, 10, 100)
DEFAULT_BATCH_CLIENTS = 2
DEFAULT_ADAPTER_THREADS = 16
DEFAULT_SCALE_POSTINGS = 5_000_000
DEFAULT_LOADER_CONNECTIONS = 2
DEFAULT_GROUP_MAX_ENTRIES = 100
DEFAULT_GROUP_MAX_WAIT_MS = 1.0
DEFAULT_GROUP_WRITERS = 2
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
P1G = "P1g"
P2G = "P2g"
P2BG = "P2bg"
P1ADJ = "P1adj"
#: the latency curve of P1g: open-loop arrivals at fractions of its peak, plotted to CURVE_PNG
CURVE = "curve"
CURVE_PNG = "bench-latency.png"
#: every point, in the order a run measures them ("P4" stands for every P4xN)
P5 = "P5"
#: the write path's isolation from reports on the replica ("I" stands for I0, I1 and I2: tools/bench/isolation.py)
ISOLATION = "I"
#: single-entry POST /v1/entries through the HTTP service (wrk), and its latency at half that peak
P6 = "P6"
#: the reports by effective date on P5's journal (dualbook.tools.bench.reports)
REPORTS = "R"
#: P1g again with a synchronous standby on the same machine (dualbook.tools.bench.syncstandby)
P1GS = "P1gs"
#: hold + capture pairs through the grouped async adapter (dualbook.tools.bench.holds)
P7H = "P7h"
POINTS = (CEILING, P1, P1G, CURVE, P1GS, P2, P2G, P2B, P2BG, P3, P7H, P6, P1ADJ, "P4", ISOLATION, P5, REPORTS)

Progress = Callable[[str], None]


def progress_to_stderr(line: str) -> None:
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
    #: the points to measure (default: all); the ceiling and P1 are always measured (every ratio needs them)
    points: tuple[str, ...] = POINTS
    #: the grouped points' policy (P1g, P2g, P2bg)
    group_max_entries: int = DEFAULT_GROUP_MAX_ENTRIES
    group_max_wait_ms: float = DEFAULT_GROUP_MAX_WAIT_MS
    group_writers: int = DEFAULT_GROUP_WRITERS
    #: point I: CPUs to pin the replica's processes to (taskset -c syntax), None: not pinned
    replica_cpus: str | None = None

    def wants(self, point: str) -> bool:
        return point in (CEILING, "P1") or point in self.points

    def group_policy(self) -> GroupPolicy:
        return GroupPolicy(
            max_entries=self.group_max_entries, max_wait=self.group_max_wait_ms / 1000, writers=self.group_writers
        )


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
    """One row of the targets table (docs/performance.md), evaluated on a run."""

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


def parse_points(text: str) -> tuple[str, ...]:
    """'P1g,P2g' -> the points to measure (the ceiling and P1 are always measured: every ratio needs them)."""
    names = {p.lower(): p for p in POINTS}
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [c for c in chosen if c.lower() not in names]
    if unknown or not chosen:
        raise ValueError(f"unknown point(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(POINTS)}")
    return tuple(dict.fromkeys(names[c.lower()] for c in chosen))


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
    """The targets table (docs/performance.md) evaluated on one run's results."""
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
    p1g = by.get(P1G)
    if p1g is not None:
        ok = p1g.ratio is not None and p1g.ratio >= 0.4 and p1g.failed == 0
        ok = ok and p1g.p99_ms is not None and p1g.p99_ms <= 11.0
        p99 = f"{p1g.p99_ms:.2f} ms" if p1g.p99_ms is not None else "n/a"
        out.append(
            Target(
                "P1g / ceiling, P1g p99",
                "≥ 0.4, p99 ≤ 11 ms, failed 0",
                f"{ratio(P1G)}, p99 {p99}, failed {p1g.failed}",
                ok,
            )
        )
    for name in (P2G, P2BG):
        r = by.get(name)
        if r is not None:
            checked = r.extras.get("invariants_ok")
            ok = r.ratio is not None and r.ratio >= 0.8 and r.failed == 0 and checked is not False
            note = "" if checked is None else f" (invariants {'hold' if checked else 'VIOLATED'})"
            out.append(Target(f"{name} / P1g", "≥ 0.8, failed 0", f"{ratio(name)}, failed {r.failed}{note}", ok))
    for r in results:
        if r.name.startswith(P1ADJ + "x"):
            adjacent = r.extras.get("serialization_failures_adjacent", 0)
            spread = r.extras.get("serialization_failures_spread", 0)
            ok = adjacent <= 2 * spread + 3 * r.calls // 100 and r.failed == 0 and r.extras.get("failed_spread") == 0
            out.append(
                Target(
                    f"{r.name} retries (adjacent vs spread)",
                    "≤ 2x spread (+3% of requests), failed 0",
                    f"{adjacent} vs {spread} of {r.calls}, failed {r.failed}",
                    ok,
                )
            )
    r1, r2 = by.get("I1"), by.get("I2")
    if r1 is not None:
        ok = r1.ratio is not None and r1.ratio >= 0.95 and r1.failed == 0
        versus = f"; on the primary instead: {ratio('I2')}" if r2 is not None else ""
        out.append(Target("I1 / I0 (reports on the replica)", "≥ 0.95, failed 0", f"{ratio('I1')}{versus}", ok))
    p6, half = by.get(P6), by.get(P6 + "@50%")
    if p6 is not None:
        p99 = f"{half.p99_ms:.2f} ms" if half is not None and half.p99_ms is not None else "n/a"
        errors = p6.failed + (half.failed if half is not None else 0)
        ok = p6.ratio is not None and p6.ratio >= 0.2 and errors == 0
        ok = ok and half is not None and half.p99_ms is not None and half.p99_ms <= 11.0
        out.append(
            Target(
                "P6 HTTP / ceiling, p99 at half its peak",
                "≥ 0.2 (aim 0.3), 0 errors, p99 ≤ 11 ms",
                f"{ratio(P6)}, {errors} errors, p99 {p99}",
                ok,
            )
        )
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
    by_reports = {r.name: r for r in results if r.name.startswith(REPORTS + "-")}
    if by_reports:
        asof, stmt = by_reports.get("R-asof"), by_reports.get("R-stmt")
        month_end = [by_reports[n] for n in ("R-me", "R-mef") if n in by_reports]
        if asof is not None and asof.p99_ms is not None:
            out.append(Target("R as-of balance p99", "≤ 5 ms", f"{asof.p99_ms:.2f} ms", asof.p99_ms <= 5.0))
        if stmt is not None and stmt.p99_ms is not None:
            out.append(Target("R statement page p99", "≤ 10 ms", f"{stmt.p99_ms:.2f} ms", stmt.p99_ms <= 10.0))
        if month_end:
            worst = max((r.p99_ms or 0.0) for r in month_end) / 1000
            rows = month_end[0].extras.get("rows", "?")
            out.append(Target("R month-end report", "≤ 10 s", f"{worst:.2f} s for {rows} accounts", worst <= 10.0))
    return out


def fmt_ms(v: float | None) -> str:
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
            fmt_ms(r.p50_ms),
            fmt_ms(r.p99_ms),
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


def verdict_text(met: bool | None) -> str:
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
            f"{r.failed_pct:.3f}% | {fmt_ms(r.p50_ms)} | {fmt_ms(r.p99_ms)} | {ratio} |"
        )
    lines += ["", "## Targets", "", "| figure | target | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.figure} | {t.target} | {t.measured} | {verdict_text(t.met)} |" for t in targets]
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


def json_doc(results: Sequence[Result], targets: Sequence[Target], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "meta": meta,
        "targets": [asdict(t) for t in targets],
        "workloads": [asdict(r) for r in results],
    }
