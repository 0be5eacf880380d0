"""P7h of ``dualbook bench``: hold + capture pairs per second through the grouped async adapter, ratio to P1g.

``--clients`` asyncio tasks of one :class:`~dualbook.AsyncLedger` with group posting (the policy and pool of
P1g), each in a closed loop: place a two-leg hold on the uniform workload's accounts, then capture it in full.
Holds and captures join the write groups as ``post_entry`` calls do (``ledger.hold_requests()`` calls), so a pair
is two requests in two groups against P1g's one. Retried and failed pairs, and the groups, are reported like
P1g's.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from dualbook.aio import AsyncLedger
from dualbook.calls import PostResult
from dualbook.errors import DualbookError
from dualbook.retry import RetryPolicy
from dualbook.tools.bench import pgbench as benchsql
from dualbook.tools.bench import procstat
from dualbook.tools.bench.callers import Runner, Tally, _result, legs_for
from dualbook.tools.bench.results import P1G, P7H, Result
from dualbook.tools.bench.server import server_counters


def holds_point(runner: Runner) -> Result:
    tasks, policy = runner.opts.clients, runner.opts.group_policy()
    runner.progress(
        f"[{P7H}] hold + capture pairs, grouped adapter, {tasks} concurrent callers (asyncio), max_entries "
        f"{policy.max_entries}, max_wait {policy.max_wait * 1000:g} ms, {policy.writers} writers ..."
    )
    benchsql.checkpoint(runner.conninfo)
    run = f"{runner.run_tag}-{P7H}"

    async def measure() -> tuple[Tally, float, Any, Any, Any, AsyncLedger]:
        ledger = await AsyncLedger.connect(
            runner.conninfo, min_size=policy.writers, max_size=policy.writers + 1, retry=RetryPolicy(), group=policy
        )
        tally = Tally()
        c0 = server_counters(runner.conninfo)
        before = procstat.cpu_sample(runner.postmaster)
        t0 = time.perf_counter()
        deadline = t0 + runner.opts.seconds

        async def work(i: int) -> None:
            rng = random.Random()
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                legs = legs_for("uniform", rng, runner.prefix, runner.opts.accounts)
                s = time.perf_counter()
                try:
                    h = await ledger.hold(f"{run}:{i}:{n}:h", legs)
                    c = await ledger.capture(h.hold_id, f"{run}:{i}:{n}:c")
                except DualbookError as exc:
                    tally.fail(exc)
                    continue
                pair = PostResult(c.entry_id, c.created, c.recorded_at, c.balances, max(h.attempts, c.attempts))
                tally.ok(pair, (time.perf_counter() - s) * 1000)

        try:
            await asyncio.gather(*(work(i) for i in range(tasks)))
            elapsed = time.perf_counter() - t0
            after = procstat.cpu_sample(runner.postmaster)
        finally:
            await ledger.close()
        return tally, elapsed, before, after, c0, ledger

    tally, elapsed, before, after, c0, ledger = asyncio.run(measure())
    procstat.wait_backends_gone(runner.postmaster, max(0, before.server_children - policy.writers - 1))
    c1 = server_counters(runner.conninfo)
    assert ledger.group is not None
    stats = ledger.group.stats
    extras: dict[str, Any] = {
        "retries": ledger.stats.retries,
        "serialization_failures": ledger.stats.serialization_failures,
        "requests_per_pair": 2,
        "groups": stats.groups,
        "mean_group": round(stats.mean_size, 1),
        "largest_group": stats.largest,
        "groups_split": stats.split,
    }
    title = "hold + capture pairs (grouped async adapter)"
    r = _result(runner, P7H, title, tasks, P1G, tally, elapsed, (before, after), (c0, c1), extras)
    runner.progress(f"      {stats.groups:,} groups, mean {stats.mean_size:.1f}, largest {stats.largest}")
    return r
