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
entries to seal. The mean of the sealed points is reported against the mean of the plain ones (the target:
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

    python -m dualbook.tools.bench.sql --seconds 15 --accounts 100000 --clients 8,32 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psycopg

from dualbook.db import migrate
from dualbook.db.config import mask_url
from dualbook.errors import DualbookError
from dualbook.testing import throwaway_cluster
from dualbook.tools.bench.pgbench import (
    BENCH_SETTINGS,
    CEILING,
    DEFAULT_ACCOUNTS,
    DEFAULT_CLIENTS,
    DEFAULT_SECONDS,
    EXTERNAL_PREFIX,
    MANAGED_PREFIX,
    MAX_TRIES,
    PGBENCH_THREADS,
    POST_ENTRY,
    POST_ENTRY_SEALED,
    SEALER_TARGET,
    WRITE_SET,
    WRITE_SET_RC,
    BenchError,
    Progress,
    Sealer,
    bench_dir,
    check_deployed,
    checkpoint,
    code_width,
    prepare,
    progress_to_stderr,
    run_pgbench,
    seal_backlog,
    unsealed_entries,
)
from dualbook.tools.bench.procstat import cpu_sample, local_postmaster_pid, wait_backends_gone


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


def run_benchmark(
    conninfo: str,
    prefix: str,
    seconds: int = DEFAULT_SECONDS,
    accounts: int = DEFAULT_ACCOUNTS,
    clients: Sequence[int] = DEFAULT_CLIENTS,
    progress: Progress = progress_to_stderr,
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
        checkpoint(conninfo)
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
        before = cpu_sample(postmaster)
        if sealing is not None:
            sealing.start()
        try:
            summary = run_pgbench(conninfo, bench_dir() / script, c, seconds, isolation, defines, progress)
        finally:
            if sealing is not None:
                sealing.halt.set()
                sealing.join()
        wait_backends_gone(postmaster, before.server_children + (1 if sealing is not None else 0))
        after = cpu_sample(postmaster)
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
    """The target: post_entry at `clients` clients >= 0.35x the ceiling, < 0.5% retried, 0 failed."""
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
    the same client count (measured A B B A around them; the target: at least 0.9x), and what the sealer
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
    """The command line of ``python -m dualbook.tools.bench.pgbench``."""
    p = argparse.ArgumentParser(
        prog="python -m dualbook.tools.bench.pgbench",
        description="pgbench: the commit ceiling vs ledger.post_entry() under SERIALIZABLE, in one run. "
        "Uses DATABASE_URL (ledger deployed) when set, else a throwaway cluster.",
        epilog="Example: python -m dualbook.tools.bench.pgbench --seconds 15 --clients 8,32 --json bench.json",
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
            progress_to_stderr(f"bench-sql against DATABASE_URL {mask_url(url)}")
            meta["server_version"] = check_deployed(url)
            meta["database"] = "DATABASE_URL"
            results = run_benchmark(url, prefix, args.seconds, args.accounts, args.clients, sealer=args.sealer)
        else:
            prefix = args.prefix or MANAGED_PREFIX
            progress_to_stderr(
                "starting a throwaway cluster (" + ", ".join(f"{k}={v}" for k, v in BENCH_SETTINGS.items()) + ")"
            )
            with throwaway_cluster(settings=BENCH_SETTINGS, keep=args.keep) as cluster:
                cluster.create_database("bench")
                progress_to_stderr("deploying the ledger with Sqitch ...")
                migrate.deploy(cluster.url("bench"), capture=True)
                conninfo = cluster.conninfo("bench")  # the unix socket: no TCP in the measured path
                if args.keep:
                    progress_to_stderr(f"the cluster stays up afterwards: psql '{conninfo}'")
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
        progress_to_stderr(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
