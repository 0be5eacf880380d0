"""`dualbook demo` and `dualbook bench`: the tools, imported only when one of them runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dualbook.cli.common import EXIT_FAILED, datadir_option, handle_errors
from dualbook.tools.bench import results as benchmod


@click.command()
@datadir_option
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="How long the concurrent workload runs.",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="How many concurrent client threads post.",
)
@handle_errors
def demo(datadir: Path | None, seconds: float, clients: int) -> None:
    """Run the end-to-end demo: deploy, a concurrent payments workload, a report.

    Starts the embedded cluster (unless DATABASE_URL is set), deploys the schema, runs CLIENTS threads of
    top-ups, payments, refunds, replays and invalid requests for SECONDS, then reports outcomes, retries,
    latency, the trial balance and the books check.

    \b
    Example:
        dualbook demo
        dualbook demo --seconds 5 --clients 16
        DATABASE_URL=postgresql://me@db.internal/ledger dualbook demo
    """
    from dualbook.tools.demo import run_demo

    run_demo(datadir, seconds=seconds, clients=clients)


# --- bench --------------------------------------------------------------------------------------------------
def _batch_sizes(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return benchmod.parse_batch_sizes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _points(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if value is None:
        return benchmod.POINTS
    try:
        return benchmod.parse_points(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _settings(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(benchmod.parse_setting(v) for v in value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command()
@click.option(
    "--seconds",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_SECONDS,
    show_default=True,
    help="Duration of each measured point.",
)
@click.option(
    "--accounts",
    type=click.IntRange(min=2),
    default=benchmod.DEFAULT_ACCOUNTS,
    show_default=True,
    help="Accounts the uniform workloads spread over.",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_CLIENTS,
    show_default=True,
    help="pgbench clients of the ceiling, P1, P2, P2b and P5.",
)
@click.option(
    "--batch-sizes",
    callback=_batch_sizes,
    default=",".join(map(str, benchmod.DEFAULT_BATCH_SIZES)),
    show_default=True,
    help="P4: entries per post_entries call, comma-separated (1-1000).",
)
@click.option(
    "--batch-clients",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_BATCH_CLIENTS,
    show_default=True,
    help="P4: pgbench clients.",
)
@click.option(
    "--adapter-threads",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_ADAPTER_THREADS,
    show_default=True,
    help="P3: Python threads.",
)
@click.option(
    "--scale-postings",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_SCALE_POSTINGS,
    show_default=True,
    help="P5: load the journal to this many postings, then repeat P1.",
)
@click.option("--skip-scale", is_flag=True, help="Skip P5 and R (the load takes minutes).")
@click.option(
    "--loader-connections",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_LOADER_CONNECTIONS,
    show_default=True,
    help="P5: connections of the loader.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for bench-results.json and bench-results.md.",
)
@click.option("--keep", is_flag=True, help="Keep the throwaway cluster running afterwards (for profiling).")
@click.option(
    "--set",
    "server_settings",
    multiple=True,
    callback=_settings,
    metavar="NAME=VALUE",
    help="A server setting of the throwaway cluster (repeatable), e.g. max_pred_locks_per_transaction=1024.",
)
@click.option(
    "--points",
    callback=_points,
    default=None,
    metavar="P1g,P2g,...",
    help="Only these points (comma-separated; the ceiling and P1 always run). Default: all.",
)
@click.option(
    "--group-max-entries",
    type=click.IntRange(1, 1000),
    default=benchmod.DEFAULT_GROUP_MAX_ENTRIES,
    show_default=True,
    help="P1g/P2g/P2bg: entries per group.",
)
@click.option(
    "--group-max-wait-ms",
    type=click.FloatRange(0, 1000),
    default=benchmod.DEFAULT_GROUP_MAX_WAIT_MS,
    show_default=True,
    help="P1g/P2g/P2bg: the longest a writer waits for more requests.",
)
@click.option(
    "--group-writers",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_GROUP_WRITERS,
    show_default=True,
    help="P1g/P2g/P2bg: writer connections of the group poster.",
)
@click.option(
    "--replica-cpus",
    default=None,
    metavar="CPUS",
    help="Point I: pin the replica's processes to these CPUs (taskset -c syntax, e.g. 1).",
)
@handle_errors
def bench(
    seconds: int,
    accounts: int,
    clients: int,
    batch_sizes: tuple[int, ...],
    batch_clients: int,
    adapter_threads: int,
    scale_postings: int,
    skip_scale: bool,
    loader_connections: int,
    out: Path,
    keep: bool,
    server_settings: tuple[tuple[str, str], ...],
    points: tuple[str, ...],
    group_max_entries: int,
    group_max_wait_ms: float,
    group_writers: int,
    replica_cpus: str | None,
) -> None:
    """Measure the ledger's workloads side by side in one run (docs/performance.md).

    Ceiling, P1 uniform post_entry, P1g the same requests from --clients callers through the grouped adapter, P1gs
    P1g again with a synchronous standby, P2 hot deferred account (with the sequencer running and the certification
    invariants checked afterwards) and P2g grouped, P2b hot limited accounts and P2bg grouped, P3 the Python adapter
    (one connection per thread), P4 post_entries batches, P7h hold + capture pairs through the grouped adapter, P6
    single entries over HTTP through `dualbook serve` driven by wrk (and its latency at half that peak), I the
    writes alone, with the month-end report looping on a streaming replica and on the primary (the write path's
    isolation), P5 P1 again after loading the journal, R the reports by effective date on that journal (as-of
    balance, statement page, trial balance, month-end report, period close). Prints a table and the targets, writes
    bench-results.json and bench-results.md. Uses DATABASE_URL (ledger deployed) when set, else a throwaway cluster.
    Exits 0 when it ran (a missed target is a result), 1 when the P2 correctness check failed, another code on
    errors.

    \b
    Example:
        dualbook bench --seconds 5 --skip-scale --out /tmp/bench
        dualbook bench --seconds 10 --points P1g,P2g,P2bg --group-max-wait-ms 0.5
    """
    opts = benchmod.BenchOptions(
        seconds=seconds,
        accounts=accounts,
        clients=clients,
        batch_sizes=batch_sizes,
        batch_clients=batch_clients,
        adapter_threads=adapter_threads,
        scale_postings=scale_postings,
        skip_scale=skip_scale,
        loader_connections=loader_connections,
        out=out,
        keep=keep,
        server_settings=server_settings,
        points=points,
        group_max_entries=group_max_entries,
        group_max_wait_ms=group_max_wait_ms,
        group_writers=group_writers,
        replica_cpus=replica_cpus,
    )
    from dualbook.tools.bench.run import run as run_bench

    if not run_bench(opts):
        sys.exit(EXIT_FAILED)
