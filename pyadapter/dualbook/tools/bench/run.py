"""`make bench` / `dualbook bench`: the ledger's workloads measured side by side in one run.

One run, on one server, in the same minutes (absolute numbers drift between runs and machines; the targets are
ratios measured side by side):

* ``ceiling`` -- the commit ceiling of ``make bench-sql`` (``sql/bench/ceiling.sql``): one one-row INSERT per
  transaction, READ COMMITTED, ``--clients`` clients;
* ``P1`` uniform -- ``sql/bench/post_entry.sql``: one 2-leg ``ledger.post_entry()`` per transaction between two
  random accounts among ``--accounts``, SERIALIZABLE; ratio of the ceiling;
* ``P1gs`` -- P1g again with a synchronous standby made for the point (:mod:`dualbook.tools.bench.syncstandby`);
  ratio of P1g (throwaway cluster only);
* ``P2`` hot account -- ``sql/bench/hot_account.sql``: a 3-leg payment whose fee leg credits ONE house account
  (an income account created deferred, no limits) while a sequencer thread calls ``ledger.sequence_deferred()``
  as ``dualbook sequencer --every 0.2`` does; afterwards the queue is drained and the certification invariants
  (``dualbook.tools.certify.check_invariants``) are checked; ratio of P1;
* ``P2b`` hot limited -- ``sql/bench/hot_limited.sql``: every entry debits one of 10 funded liabilities with
  ``lower_limit 0``; the inherent floor of hot accounts with limits; ratio of P1;
* ``P3`` adapter -- ``--adapter-threads`` Python threads, each its own :class:`~dualbook.ledger.Ledger` (one
  connection), 2-leg uniform entries through ``Ledger.post_entry``, per-call latency including retries;
  ratio of P1;
* ``P6`` HTTP -- single-entry ``POST /v1/entries`` through ``dualbook serve`` from wrk at 64 connections, unique
  keys; ratio of the ceiling; then ``P6@50%``, its latency at half that peak, open loop approximated by paced
  connections (:mod:`dualbook.tools.bench.http`);
* ``P4xN`` batch -- ``sql/bench/post_entries.sql``: ``ledger.post_entries()`` with N random 2-leg entries per
  call (``--batch-sizes``) at ``--batch-clients`` clients; postings/s = calls/s x N; ratio of the ceiling;
* ``I0``/``I1``/``I2`` isolation -- P1's writes alone, with the month-end report in a loop on a streaming replica, and
  with the same loop on the primary (:mod:`dualbook.tools.bench.isolation`); I1 and I2 as ratios of I0;
* ``P5`` scale -- the journal is bulk-loaded through ``ledger.post_entries()`` (batches of 1000 entries between
  100 consecutive accounts, from ``--loader-connections`` connections, each on its own slice of the accounts,
  the window moving on with every batch) until it holds
  ``--scale-postings`` postings, then P1 again; ratio of P1 (on the small journal).
* ``R`` reports -- on P5's journal (entries dated over the past year, loaded out of date order): period close,
  as-of balances, statement pages, the trial balance and the month-end report of every account
  (:mod:`dualbook.tools.bench.reports`); latencies against the targets. Skipped with ``--skip-scale``.

A *posting* here is one entry (a journal entry of 2 or 3 legs), as in "postings/s" of the targets. Percentiles of
the pgbench workloads come from pgbench's per-transaction log (``--log``): the latency of each successful
transaction including its retries; P3's are measured around each ``Ledger.post_entry`` call.

The database: ``DATABASE_URL`` (ledger deployed; accounts prefixed ``dualbook-bench``) or a throwaway cluster with
the settings of ``make bench-sql`` (``dualbook.tools.bench.pgbench.BENCH_SETTINGS``), removed afterwards unless
``keep``.
Results: a table on stdout, progress on stderr, ``bench-results.json`` and ``bench-results.md`` in ``out``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dualbook.db import migrate
from dualbook.db.cluster import Cluster
from dualbook.db.config import mask_url
from dualbook.testing import deploy_template, throwaway_cluster
from dualbook.tools import certify
from dualbook.tools.bench import callers, contention, http, isolation, procstat, syncstandby
from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench.holds import holds_point
from dualbook.tools.bench.loader import load_journal
from dualbook.tools.bench.pgbench import BenchError
from dualbook.tools.bench.reports import measure_reports
from dualbook.tools.bench.results import (
    CEILING,
    CURVE,
    CURVE_PNG,
    ISOLATION,
    JSON_NAME,
    LIMITED_ACCOUNTS,
    MD_NAME,
    P1,
    P1ADJ,
    P1G,
    P1GS,
    P2,
    P2B,
    P2BG,
    P2G,
    P3,
    P5,
    P6,
    P7H,
    REPORTS,
    SEQUENCER_EVERY,
    BenchOptions,
    Progress,
    Result,
    batch_name,
    evaluate_targets,
    fmt_ms,
    format_markdown,
    format_table,
    json_doc,
    log_latencies,
    percentile,
    progress_to_stderr,
    set_ratios,
    verdict_text,
)
from dualbook.tools.bench.server import (
    Measured,
    Sequencer,
    check_owner,
    journal_size,
    machine_info,
    other_cpu_pct,
    per_call,
    prepare,
    queued_legs,
    server_counters,
)


class Runner:
    """Runs the points against one database and collects the results."""

    def __init__(self, conninfo: str, prefix: str, opts: BenchOptions, progress: Progress = progress_to_stderr) -> None:
        self.conninfo = conninfo
        self.prefix = prefix
        self.opts = opts
        self.progress = progress
        self.run_tag = f"{prefix}-{int(time.time())}-{os.getpid()}"
        self.postmaster = procstat.local_postmaster_pid(conninfo)
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
        benchsql.checkpoint(self.conninfo)
        with tempfile.TemporaryDirectory(prefix="dualbook-bench-log-") as logdir:
            c0 = server_counters(self.conninfo)
            before = procstat.cpu_sample(self.postmaster)
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
            procstat.wait_backends_gone(self.postmaster, before.server_children)
            after = procstat.cpu_sample(self.postmaster)
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
            other_cpu_pct=other_cpu_pct(m.before, m.after),
            extras={**m.counters, **(extras or {})},
        )
        self.report(r)
        return r

    def report(self, r: Result) -> None:
        self.progress(
            f"      -> {r.tps:,.0f} postings/s ({r.calls_per_s:,.0f} calls/s), {r.retried_pct:.3f}% retried, "
            f"{r.failed_pct:.3f}% failed, p50 {fmt_ms(r.p50_ms)} ms, p99 {fmt_ms(r.p99_ms)} ms, "
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
                f"draining, dualbook.tools.certify.check_invariants: " + str(report).splitlines()[0]
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
        return callers.threads_point(self, P3, "Python adapter (Ledger.post_entry)", threads, "uniform", P1)

    def grouped(self, name: str, kind: str) -> Result:
        return callers.grouped_point(self, name, kind)

    def curve(self, so_far: list[Result]) -> list[Result]:
        """Latency against offered load, open loop, at fractions of the P1g peak measured just before."""
        p1g = next((r for r in so_far if r.name == P1G), None)
        if p1g is None or p1g.tps <= 0:
            self.progress(f"[{CURVE}] skipped: it needs P1g's peak (add P1g to --points)")
            return []
        return callers.latency_curve(self, p1g.tps)

    def contention(self) -> list[Result]:
        """P1adj at 8 and 32 callers on a throwaway cluster with PostgreSQL's default predicate-lock settings:
        adjacent accounts against accounts spread apart (dualbook.tools.bench.contention)."""
        if os.environ.get("DATABASE_URL"):
            self.progress("[P1adj] skipped: it needs a throwaway cluster with default settings (unset DATABASE_URL)")
            return []
        results = []
        with throwaway_cluster(settings=contention.DEFAULT_PREDICATE_LOCKS) as cluster:
            self.progress("[P1adj] throwaway cluster with PostgreSQL's default predicate-lock settings ...")
            deploy_template(cluster)
            for callers in (8, 32):
                spread = contention.adjacent_run(cluster, callers, contention.SPREAD_GAP)
                adjacent = contention.adjacent_run(cluster, callers, 1)
                n = adjacent.requests
                results.append(
                    Result(
                        name=f"{P1ADJ}x{callers}",
                        title=f"adjacent accounts, {callers} callers",
                        clients=callers,
                        tps=round(n / adjacent.seconds, 1),
                        retried_pct=round(100 * adjacent.serialization_failures / n, 3),
                        failed_pct=round(100 * adjacent.failed / n, 3),
                        p50_ms=None,
                        p99_ms=None,
                        ratio=None,
                        ratio_of=None,
                        calls_per_s=round(n / adjacent.seconds, 1),
                        entries_per_call=1,
                        calls=n,
                        retried=adjacent.serialization_failures,
                        failed=adjacent.failed,
                        seconds=adjacent.seconds,
                        extras={
                            "serialization_failures_adjacent": adjacent.serialization_failures,
                            "serialization_failures_spread": spread.serialization_failures,
                            "failed_spread": spread.failed,
                            "note": (
                                f"adjacent: {adjacent.serialization_failures} serialization failures retried, "
                                f"{adjacent.failed} failed; spread {contention.SPREAD_GAP} apart: "
                                f"{spread.serialization_failures} retried, {spread.failed} failed (of {n} each)"
                            ),
                        },
                    )
                )
                self.progress(f"      {callers} callers: {results[-1].extras['note']}")
        return results

    def scale(self) -> Result:
        loaded = load_journal(self.conninfo, self.prefix, self.opts, self.run_tag, self.progress)
        r = self.uniform(P5, "uniform post_entry on the loaded journal")
        r.extras.update(loaded)
        r.extras["note"] = (
            f"journal of {loaded['journal_postings']:,} postings; loaded {loaded['loaded_entries']:,} entries "
            f"through ledger.post_entries in {loaded['load_s']} s"
        )
        return r


def run_points(
    conninfo: str,
    prefix: str,
    opts: BenchOptions,
    progress: Progress = progress_to_stderr,
    cluster: Cluster | None = None,
) -> list[Result]:
    """Prepare the database and measure every workload, in order; ratios filled in."""
    if opts.accounts < 2:
        raise BenchError("--accounts must be at least 2")
    progress(f"preparing {opts.accounts:,} accounts with prefix '{prefix}:' ...")
    prepare(conninfo, prefix, opts.accounts, progress)
    runner = Runner(conninfo, prefix, opts, progress)
    points: dict[str, Callable[[], list[Result]]] = {
        CEILING: lambda: [runner.ceiling()],
        P1: lambda: [runner.uniform()],
        P1G: lambda: [runner.grouped(P1G, "uniform")],
        CURVE: lambda: runner.curve(results),
        P1GS: lambda: syncstandby.sync_standby_points(runner, cluster),
        P2: lambda: [runner.hot_account()],
        P2G: lambda: [runner.grouped(P2G, "hot")],
        P2B: lambda: [runner.hot_limited()],
        P2BG: lambda: [runner.grouped(P2BG, "limited")],
        P3: lambda: [runner.adapter()],
        P7H: lambda: [holds_point(runner)],
        P6: lambda: http.http_points(runner),
        P1ADJ: runner.contention,
        "P4": lambda: [runner.batch(n) for n in opts.batch_sizes],
        ISOLATION: lambda: isolation.isolation_points(runner, cluster, "bench", opts.clients, opts.replica_cpus),
        P5: lambda: [] if opts.skip_scale else [runner.scale()],
        REPORTS: lambda: [] if opts.skip_scale else measure_reports(conninfo, prefix, opts, runner.run_tag, progress),
    }
    results: list[Result] = []
    for name, point in points.items():
        if opts.wants(name):
            results += point()
    set_ratios(results)
    return results


def run(opts: BenchOptions, progress: Progress = progress_to_stderr) -> bool:
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
            results = run_points(conninfo, prefix, opts, progress, cluster)
    meta["machine_info"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["elapsed_s"] = round(time.monotonic() - started, 1)
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    targets = evaluate_targets(results)
    print(format_table(results))
    print()
    for t in targets:
        print(f"{t.figure}: target {t.target}; measured {t.measured}: {verdict_text(t.met).strip('*').upper()}")
    checked = [r for r in results if "invariants_ok" in r.extras]  # P2 and P2g check the books afterwards
    invariants_ok = all(bool(r.extras["invariants_ok"]) for r in checked)
    for r in checked:
        verdict = "PASS" if r.extras["invariants_ok"] else "FAIL"
        print(f"{r.name} correctness (certification invariants after draining): {verdict}")
    json_path, md_path = opts.out / JSON_NAME, opts.out / MD_NAME
    json_path.write_text(json.dumps(json_doc(results, targets, meta), indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(format_markdown(results, targets, meta))
    progress(f"wrote {json_path} and {md_path}")
    curve = [r for r in results if r.name.startswith(P1G + "@")]
    if curve:
        png = opts.out / CURVE_PNG
        if callers.plot_latency_curve(curve, png):
            progress(f"wrote {png} (p50/p99 against offered load)")
        else:
            progress("no latency plot: matplotlib is not installed (pip install 'dualbook[bench]')")
    return invariants_ok
