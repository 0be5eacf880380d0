"""The adapter's points of ``dualbook bench``: closed-loop callers of ``post_entry`` through the Python adapter.

* P3: ``--adapter-threads`` threads, each with its own :class:`~dualbook.Ledger` (one connection): what an
  application with a connection per thread gets;
* P1g, P2g, P2bg: ``--clients`` concurrent callers -- asyncio tasks of one :class:`~dualbook.AsyncLedger` with group
  posting (``--group-*``), as the HTTP service runs -- on the uniform, hot-house and hot-limited workloads.

Latency is measured around each call, retries included; server CPU, WAL and blocks per request come from the
server's own counters (:func:`dualbook.tools.bench.server.per_call`).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from dualbook.aio import AsyncLedger
from dualbook.calls import PostResult
from dualbook.errors import DualbookError
from dualbook.ledger import Ledger
from dualbook.retry import RetryPolicy
from dualbook.tools import certify
from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench import procstat
from dualbook.tools.bench.procstat import CpuSample
from dualbook.tools.bench.results import CEILING, LIMITED_ACCOUNTS, P1G, BenchOptions, Progress, Result, percentile
from dualbook.tools.bench.server import Sequencer, other_cpu_pct, per_call, server_counters


class Runner(Protocol):
    """What the points need of the run that measures them (:class:`dualbook.tools.bench.run.Runner`)."""

    conninfo: str
    prefix: str
    run_tag: str
    opts: BenchOptions
    postmaster: int | None
    progress: Progress

    def report(self, r: Result) -> None: ...


TITLES = {"uniform": "uniform", "hot": "hot house account", "limited": f"{LIMITED_ACCOUNTS} hot limited"}


def legs_for(kind: str, rng: random.Random, prefix: str, accounts: int) -> list[dict[str, Any]]:
    """One request's legs: 'uniform' (P1/P3), 'hot' (P2: a 1% fee to the deferred house account) or 'limited'
    (P2b: debit one of the 10 limited accounts), as the pgbench scripts build them."""
    width = benchsql.code_width(accounts)
    a = rng.randint(1, accounts)
    b = rng.randint(1, accounts - 1)
    b = b + 1 if b >= a else b
    if kind == "limited":
        amount = rng.randint(1, 100_000)
        src = f"{prefix}:limited:{rng.randint(1, LIMITED_ACCOUNTS):02d}"
        return [
            {"account": src, "amount": amount, "currency": "USD"},
            {"account": f"{prefix}:{b:0{width}d}", "amount": -amount, "currency": "USD"},
        ]
    amount = rng.randint(100, 100_000) if kind == "hot" else rng.randint(1, 100_000)
    fee = 1 + amount // 100 if kind == "hot" else 0
    legs = [
        {"account": f"{prefix}:{a:0{width}d}", "amount": amount, "currency": "USD"},
        {"account": f"{prefix}:{b:0{width}d}", "amount": -(amount - fee), "currency": "USD"},
    ]
    if fee:
        legs.append({"account": f"{prefix}:house", "amount": -fee, "currency": "USD"})
    return legs


class Tally:
    """What the callers saw: latencies of successful calls, retried and failed calls, the first errors."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.retried = 0
        self.failed = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def ok(self, result: PostResult, ms: float) -> None:
        with self.lock:
            self.latencies.append(ms)
            self.retried += result.attempts > 1

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(str(exc))


def _result(
    runner: Runner,
    name: str,
    title: str,
    clients: int,
    ratio_of: str,
    tally: Tally,
    elapsed: float,
    cpu: tuple[CpuSample, CpuSample],
    counters: tuple[dict[str, float] | None, dict[str, float] | None],
    extras: dict[str, Any],
) -> Result:
    ok = sorted(tally.latencies)
    n_ok = len(ok)
    total = max(n_ok + tally.failed, 1)
    extras = {**per_call(cpu[0], cpu[1], counters[0], counters[1], n_ok), **extras}
    if tally.errors:
        extras["note"] = "errors: " + "; ".join(tally.errors)
    r = Result(
        name=name,
        title=title,
        clients=clients,
        tps=round(n_ok / elapsed, 1),
        retried_pct=round(100 * tally.retried / total, 3),
        failed_pct=round(100 * tally.failed / total, 3),
        p50_ms=percentile(ok, 50),
        p99_ms=percentile(ok, 99),
        ratio=None,
        ratio_of=ratio_of,
        calls_per_s=round(n_ok / elapsed, 1),
        entries_per_call=1,
        calls=n_ok,
        retried=tally.retried,
        failed=tally.failed,
        seconds=round(elapsed, 2),
        other_cpu_pct=other_cpu_pct(cpu[0], cpu[1]),
        extras=extras,
    )
    runner.report(r)
    return r


def threads_point(runner: Runner, name: str, title: str, threads: int, kind: str, ratio_of: str) -> Result:
    """``threads`` closed-loop threads, each its own one-connection Ledger, for ``--seconds``."""
    benchsql.checkpoint(runner.conninfo)
    run, opts = f"{runner.run_tag}-{name}", runner.opts
    ledgers = [Ledger.connect(runner.conninfo, min_size=1, max_size=1, retry=RetryPolicy()) for _ in range(threads)]
    tally = Tally()
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def work(i: int) -> None:
        ledger, rng = ledgers[i], random.Random()
        start.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            n += 1
            legs = legs_for(kind, rng, runner.prefix, opts.accounts)
            t0 = time.perf_counter()
            try:
                result = ledger.post_entry(f"{run}:{i}:{n}", legs)
            except DualbookError as exc:
                tally.fail(exc)
                continue
            tally.ok(result, (time.perf_counter() - t0) * 1000)

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    try:
        for w in workers:
            w.start()
        c0 = server_counters(runner.conninfo)
        before = procstat.cpu_sample(runner.postmaster)
        t0 = time.perf_counter()
        deadline[0] = t0 + opts.seconds
        start.wait()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
        after = procstat.cpu_sample(runner.postmaster)
    finally:
        for led in ledgers:
            led.close()
    procstat.wait_backends_gone(runner.postmaster, max(0, before.server_children - threads))
    c1 = server_counters(runner.conninfo)
    extras = {
        "retries": sum(led.stats.retries for led in ledgers),
        "serialization_failures": sum(led.stats.serialization_failures for led in ledgers),
    }
    return _result(runner, name, title, threads, ratio_of, tally, elapsed, (before, after), (c0, c1), extras)


async def _tasks(
    runner: Runner, name: str, ledger: AsyncLedger, tasks: int, kind: str
) -> tuple[Tally, float, CpuSample, CpuSample, dict[str, float] | None]:
    run, opts = f"{runner.run_tag}-{name}", runner.opts
    tally = Tally()
    c0 = server_counters(runner.conninfo)
    before = procstat.cpu_sample(runner.postmaster)
    t0 = time.perf_counter()
    deadline = t0 + opts.seconds

    async def work(i: int) -> None:
        rng = random.Random()
        post: Callable[..., Awaitable[PostResult]] = ledger.post_entry
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            legs = legs_for(kind, rng, runner.prefix, opts.accounts)
            s = time.perf_counter()
            try:
                result = await post(f"{run}:{i}:{n}", legs)
            except DualbookError as exc:
                tally.fail(exc)
                continue
            tally.ok(result, (time.perf_counter() - s) * 1000)

    await asyncio.gather(*(work(i) for i in range(tasks)))
    elapsed = time.perf_counter() - t0
    after = procstat.cpu_sample(runner.postmaster)
    return tally, elapsed, before, after, c0


def grouped_point(runner: Runner, name: str, kind: str) -> Result:
    """P1g / P2g / P2bg: ``--clients`` asyncio tasks posting through one AsyncLedger with group posting. P2g
    runs the sequencer meanwhile and checks the certification invariants afterwards, as P2 does."""
    tasks, policy = runner.opts.clients, runner.opts.group_policy()
    runner.progress(
        f"[{name}] grouped adapter, {tasks} concurrent callers (asyncio), {TITLES[kind]}, max_entries "
        f"{policy.max_entries}, max_wait {policy.max_wait * 1000:g} ms, {policy.writers} writers ..."
    )
    benchsql.checkpoint(runner.conninfo)
    seq = Sequencer(runner.conninfo) if kind == "hot" else None
    if seq is not None:
        seq.drain()
        seq.calls = seq.folded = 0
        seq.start()

    async def measure() -> tuple[Tally, float, CpuSample, CpuSample, dict[str, float] | None, AsyncLedger]:
        ledger = await AsyncLedger.connect(
            runner.conninfo, min_size=policy.writers, max_size=policy.writers + 1, retry=RetryPolicy(), group=policy
        )
        try:
            return (*await _tasks(runner, name, ledger, tasks, kind), ledger)
        finally:
            await ledger.close()

    try:
        tally, elapsed, before, after, c0, ledger = asyncio.run(measure())
    finally:
        if seq is not None:
            seq.halt.set()
            seq.join()
    procstat.wait_backends_gone(runner.postmaster, max(0, before.server_children - policy.writers - 1))
    c1 = server_counters(runner.conninfo)
    assert ledger.group is not None
    stats = ledger.group.stats
    extras: dict[str, Any] = {
        "retries": ledger.stats.retries,
        "serialization_failures": ledger.stats.serialization_failures,
        "groups": stats.groups,
        "mean_group": round(stats.mean_size, 1),
        "largest_group": stats.largest,
        "groups_split": stats.split,
    }
    ratio_of = CEILING if name == P1G else P1G
    title = f"grouped adapter, {TITLES[kind]}"
    r = _result(runner, name, title, tasks, ratio_of, tally, elapsed, (before, after), (c0, c1), extras)
    runner.progress(f"      {stats.groups:,} groups, mean {stats.mean_size:.1f}, largest {stats.largest}")
    if seq is not None:
        seq.drain()
        report = certify.check_invariants(runner.conninfo)
        r.extras["invariants_ok"] = report.ok
        runner.progress(f"      {report}")
    return r


#: the offered loads of the latency curve, as fractions of the closed-loop P1g peak
CURVE_LOADS = (0.25, 0.5, 0.75, 1.0)


async def _open_loop(
    runner: Runner, ledger: AsyncLedger, rate: float, seconds: float, tag: str
) -> tuple[Tally, float, int]:
    """Requests arrive at ``rate`` per second for ``seconds``, whether or not earlier ones are done (open loop);
    each one's latency runs from its scheduled arrival, so queueing delay counts (no coordinated omission).
    Returns the tally, the elapsed time and the most requests outstanding at once."""
    tally, rng = Tally(), random.Random(7)
    outstanding, peak = 0, 0
    tasks: list[asyncio.Task[None]] = []

    async def one(n: int, due: float) -> None:
        nonlocal outstanding
        legs = legs_for("uniform", rng, runner.prefix, runner.opts.accounts)
        try:
            result = await ledger.post_entry(f"{tag}:{n}", legs)
        except DualbookError as exc:
            tally.fail(exc)
        else:
            tally.ok(result, (time.perf_counter() - due) * 1000)
        finally:
            outstanding -= 1

    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        outstanding += 1
        peak = max(peak, outstanding)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - start, peak


def latency_curve(runner: Runner, peak: float) -> list[Result]:
    """P1g's latency against offered load: open-loop arrivals at each of CURVE_LOADS x ``peak`` requests/s."""
    policy, seconds = runner.opts.group_policy(), runner.opts.seconds
    results = []
    for load in CURVE_LOADS:
        rate = max(1.0, peak * load)
        name = f"{P1G}@{round(load * 100)}%"
        runner.progress(f"[{name}] open-loop arrivals at {rate:,.0f} requests/s for {seconds} s (grouped adapter) ...")
        benchsql.checkpoint(runner.conninfo)

        async def measure(rate: float = rate, name: str = name) -> tuple[Tally, float, int, CpuSample, CpuSample]:
            ledger = await AsyncLedger.connect(
                runner.conninfo, min_size=policy.writers, max_size=policy.writers + 1, group=policy
            )
            try:
                before = procstat.cpu_sample(runner.postmaster)
                tally, elapsed, most = await _open_loop(runner, ledger, rate, seconds, f"{runner.run_tag}-{name}")
                return tally, elapsed, most, before, procstat.cpu_sample(runner.postmaster)
            finally:
                await ledger.close()

        c0 = server_counters(runner.conninfo)
        tally, elapsed, most, before, after = asyncio.run(measure())
        procstat.wait_backends_gone(runner.postmaster, max(0, before.server_children - policy.writers - 1))
        c1 = server_counters(runner.conninfo)
        extras = {"offered_per_s": round(rate, 1), "offered_load": load, "most_outstanding": most}
        results.append(
            _result(
                runner,
                name,
                f"open loop, {round(load * 100)}% of peak",
                most,
                P1G,
                tally,
                elapsed,
                (before, after),
                (c0, c1),
                extras,
            )
        )
    return results


def plot_latency_curve(results: list[Result], path: Path) -> bool:
    """p50 and p99 against offered load (requests/s) as a PNG; False when matplotlib is not installed
    (``pip install dualbook[bench]``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    points = sorted((r.extras["offered_per_s"], r.p50_ms, r.p99_ms) for r in results if r.p50_ms and r.p99_ms)
    if not points:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    xs = [p[0] for p in points]
    ax.plot(xs, [p[1] for p in points], marker="o", label="p50")
    ax.plot(xs, [p[2] for p in points], marker="s", label="p99")
    ax.axhline(11.0, color="grey", linestyle="--", linewidth=1, label="p99 target (11 ms)")
    for x, _p50, p99 in points:
        ax.annotate(f"{p99:.1f}", (x, p99), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
    ax.set_xlabel("offered load (single-entry requests/s, open loop)")
    ax.set_ylabel("latency from arrival (ms)")
    ax.set_title("Group posting: latency against load")
    ax.set_yscale("log")  # the tail grows by orders of magnitude near saturation
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
