"""Point ``I`` of `dualbook bench`: is the write path isolated from reports run on the replica?

Three phases of the same write workload (P1's ``post_entry.sql``: one 2-leg entry per transaction, uniform,
``--clients`` pgbench clients, SERIALIZABLE, on the primary), each ``--seconds`` long, measured side by side:

* ``I0`` -- the writes alone;
* ``I1`` -- the writes while one client runs :data:`HEAVY_REPORT` in a loop **on the replica**
  (``Ledger.read`` with no freshness bound, so the loop sends nothing to the primary);
* ``I2`` -- the writes while the same loop runs **on the primary** (SERIALIZABLE READ ONLY DEFERRABLE).

I1 / I0 is the isolation figure (target ≥ 0.95); I2 / I0 the comparison. Beside throughput each phase reports the
primary's CPU per write (µs, from /proc: a report on the replica should not change it, one on the primary adds its
own) and the replica's CPU during the phase. When primary and replica share one machine, a report on the replica
still takes CPU the primary's backends would have used: I1 then measures the machine, not the write path, and the
note says how busy the machine was. ``--replica-cpus`` splits the machine for all three phases: the replica's
processes run on those CPUs (``taskset``), the primary's and the benchmark's (pgbench) on the others, so that I1 / I0
measures what the replica costs the write path beyond sharing CPUs.

The replica: on the throwaway cluster a streaming replica made for this point (``pg_basebackup``) and removed after
it; with ``DATABASE_URL``, ``DUALBOOK_READ_URL`` names it (the point is skipped without it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg

from dualbook import reads, reports
from dualbook.calls import Call
from dualbook.db.cluster import Cluster
from dualbook.ledger import Ledger
from dualbook.reads import ReadPolicy
from dualbook.testing import throwaway_replica, wait_for_replay
from dualbook.tools.bench import procstat
from dualbook.tools.bench.results import Progress, Result, percentile
from dualbook.tools.bench.server import Measured

I0, I1, I2 = "I0", "I1", "I2"


def month_end_report() -> Call[Any]:
    """The month-end report of the current month (UTC) over every account: what a month-end close reads."""
    today = datetime.now(UTC).date()
    return reports.month_end_report(today.replace(day=1), today, book="default")


#: The report each loop runs: the month-end report of every account (reads every posting of the month and every
#: account's opening balance); swap in another ``Call`` here (e.g. ``calls.books_check``) to measure that one.
HEAVY_REPORT: Callable[[], Call[Any]] = month_end_report


class IsolationRunner(Protocol):
    """What the point needs of a bench run (dualbook.tools.bench.run.Runner)."""

    conninfo: str
    progress: Progress
    postmaster: int | None

    def defines(self, **more: int) -> dict[str, str]: ...

    def pgbench(self, script: str, clients: int, isolation: str, defines: dict[str, str] | None = None) -> Measured: ...

    def result(
        self,
        name: str,
        title: str,
        clients: int,
        m: Measured,
        ratio_of: str | None,
        entries_per_call: int = 1,
        extras: dict[str, Any] | None = None,
    ) -> Result: ...


class ReportLoop(threading.Thread):
    """Runs the heavy report back to back on the read target (a replica, or the primary when ``read_url`` is
    None) until halted; counts the reports, their durations and whether each found the books balanced."""

    def __init__(self, conninfo: str, read_url: str | None, cpus: set[int] | None = None) -> None:
        super().__init__(daemon=True, name="dualbook-bench-report")
        self.conninfo, self.read_url, self.cpus = conninfo, read_url, cpus
        self.halt = threading.Event()
        self.durations: list[float] = []
        self.violations = 0
        self.sources: set[str] = set()
        self.error: BaseException | None = None

    def run(self) -> None:
        policy = ReadPolicy(read_your_writes=False)  # no query on the primary from a replica loop
        if self.cpus:
            # the report's client (it parses every row in Python) is not the system under test: on its own CPUs,
            # as on a reporting host of its own (on Linux this pins this thread only)
            os.sched_setaffinity(0, self.cpus)
        try:
            with Ledger.connect(self.conninfo, max_size=1, read_url=self.read_url, read_policy=policy) as lg:
                while not self.halt.is_set():
                    started = time.perf_counter()
                    found, snapshot = lg.read(HEAVY_REPORT())
                    self.durations.append(1000 * (time.perf_counter() - started))
                    self.violations += len(found) if isinstance(found, list) else 0
                    self.sources.add(snapshot.source)
        except BaseException as exc:  # reported by the point
            self.error = exc


class LagSampler(threading.Thread):
    """Samples the replica's replay lag (dualbook.reads.replay_lag) every ``every`` seconds until halted: how far
    replay fell behind while the phase ran (a long report on the standby can hold replay back, docs/design.md
    §11.3)."""

    def __init__(self, conninfo: str, read_url: str, every: float = 0.25) -> None:
        super().__init__(daemon=True, name="dualbook-bench-lag")
        self.conninfo, self.read_url, self.every = conninfo, read_url, every
        self.halt = threading.Event()
        self.max_bytes = 0
        self.max_seconds = 0.0
        self.samples = 0

    @staticmethod
    def caught_up(conninfo: str, read_url: str, timeout: float = 120.0) -> float:
        """Wait until the replica has replayed everything the primary has flushed; returns the seconds waited."""
        started = time.monotonic()
        with (
            psycopg.connect(conninfo, autocommit=True) as primary,
            psycopg.connect(read_url, autocommit=True) as replica,
        ):
            target = reads.primary_position(primary)
            while reads.replay_lag(reads.replica_position(replica, target), target).bytes:
                if time.monotonic() - started > timeout:
                    break
                time.sleep(0.05)
        return time.monotonic() - started

    def run(self) -> None:
        with (
            psycopg.connect(self.conninfo, autocommit=True) as primary,
            psycopg.connect(self.read_url, autocommit=True) as replica,
        ):
            while not self.halt.wait(self.every):
                target = reads.primary_position(primary)
                lag = reads.replay_lag(reads.replica_position(replica, target), target)
                self.samples += 1
                self.max_bytes = max(self.max_bytes, lag.bytes or 0)
                self.max_seconds = max(self.max_seconds, lag.seconds or 0.0)


def _cpu_list(cpus: set[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def _parse_cpus(text: str) -> set[int]:
    """'1' / '0,2' / '2-3' -> the CPU numbers (taskset -c syntax)."""
    out: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@contextlib.contextmanager
def split_machine(
    runner: IsolationRunner, replica_pid: int | None, replica_cpus: str | None
) -> Iterator[tuple[str, set[int] | None]]:
    """Pin the replica to ``replica_cpus`` and the primary and this process (pgbench inherits it) to the other CPUs,
    for the point; all CPUs again afterwards. Yields a description of the placement and the CPUs for the report
    loops' client threads (the replica's; None when not pinned)."""
    everything = os.sched_getaffinity(0)
    if not replica_cpus:
        yield "not pinned: primary, replica, pgbench and the report client share every CPU", None
        return
    theirs = _parse_cpus(replica_cpus) & everything
    ours = everything - theirs
    if not theirs or not ours:
        raise ValueError(f"--replica-cpus {replica_cpus}: leave at least one of CPUs {_cpu_list(everything)} to each")
    _pin(replica_pid, _cpu_list(theirs), runner.progress)
    _pin(runner.postmaster, _cpu_list(ours), runner.progress)
    os.sched_setaffinity(0, ours)
    try:
        yield (
            f"replica and the report client on CPUs {_cpu_list(theirs)}, primary and pgbench on CPUs {_cpu_list(ours)}",
            theirs,
        )
    finally:
        os.sched_setaffinity(0, everything)
        _pin(runner.postmaster, _cpu_list(everything), runner.progress)


def _pin(pid: int | None, cpus: str | None, progress: Progress) -> None:
    """Pin a postmaster and its children to ``cpus`` with taskset (new backends inherit it)."""
    if pid is None or not cpus:
        return
    if shutil.which("taskset") is None:
        progress("      (taskset not found: the replica is not pinned)")
        return
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True, capture_output=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = procstat.proc_stat(int(entry))
            if st is not None and st[0] == pid:
                subprocess.run(["taskset", "-a", "-p", "-c", cpus, entry], check=False, capture_output=True)


@contextlib.contextmanager
def replica_for(cluster: Cluster | None, dbname: str, progress: Progress) -> Iterator[tuple[str, int | None] | None]:
    """The read target of the point: (its conninfo, its postmaster pid when local), or None when there is none."""
    if cluster is None:
        url = os.environ.get("DUALBOOK_READ_URL")
        yield (url, procstat.local_postmaster_pid(url)) if url else None
        return
    progress("[I] making a streaming replica of the bench cluster (pg_basebackup) ...")
    with throwaway_replica(cluster) as replica:
        wait_for_replay(cluster, replica)
        yield replica.conninfo(dbname), replica.postmaster_pid()


def _phase(
    runner: IsolationRunner,
    name: str,
    title: str,
    clients: int,
    loop: ReportLoop | None,
    replica_pid: int | None,
    read_url: str,
) -> Result:
    waited = LagSampler.caught_up(runner.conninfo, read_url)  # a phase starts with the replica caught up
    replica_before = procstat.cpu_sample(replica_pid)
    sampler = LagSampler(runner.conninfo, read_url)
    sampler.start()
    if loop is not None:
        loop.start()
        time.sleep(0.5)  # the loop is running before the writes start
    try:
        m = runner.pgbench("post_entry.sql", clients, "serializable", runner.defines())
    finally:
        for thread in (loop, sampler):
            if thread is not None:
                thread.halt.set()
                thread.join()
    replica_after = procstat.cpu_sample(replica_pid)
    extras: dict[str, Any] = {
        "replay_lag_max_bytes": sampler.max_bytes,
        "replay_lag_max_s": round(sampler.max_seconds, 3),
        "caught_up_before_s": round(waited, 2),
    }
    wall = replica_after.wall - replica_before.wall
    if replica_before.server_s is not None and replica_after.server_s is not None:
        extras["replica_cpu_pct"] = round(100 * (replica_after.server_s - replica_before.server_s) / wall, 1)
    if replica_before.machine_busy_s is not None and replica_after.machine_busy_s is not None:
        busy = (replica_after.machine_busy_s - replica_before.machine_busy_s) / (wall * (os.cpu_count() or 1))
        extras["machine_busy_pct"] = round(100 * busy, 1)
    if loop is not None:
        if loop.error is not None:
            raise loop.error
        durations = sorted(loop.durations)
        extras.update(
            {
                "reports": len(durations),
                "report_p50_ms": percentile(durations, 50),
                "report_sources": sorted(loop.sources),
                "report_violations": loop.violations,
            }
        )
    cpu = m.counters.get("server_cpu_us_per_call")
    extras["note"] = (
        f"primary CPU {cpu if cpu is not None else 'n/a'} us per write"
        + (f"; {extras['reports']} reports, p50 {extras['report_p50_ms']} ms" if loop is not None else "")
        + (f"; replica CPU {extras['replica_cpu_pct']}%" if "replica_cpu_pct" in extras else "")
        + f"; replay lag at most {sampler.max_bytes:,} bytes, {sampler.max_seconds:.2f} s"
        + (f"; machine {extras['machine_busy_pct']}% busy" if "machine_busy_pct" in extras else "")
    )
    return runner.result(name, title, clients, m, None if name == I0 else I0, extras=extras)


def isolation_points(
    runner: IsolationRunner, cluster: Cluster | None, dbname: str, clients: int, replica_cpus: str | None = None
) -> list[Result]:
    """I0, I1, I2 (see the module's text); [] when there is no replica to read."""
    with replica_for(cluster, dbname, runner.progress) as target:
        if target is None:
            runner.progress("[I] skipped: no replica (set DUALBOOK_READ_URL next to DATABASE_URL)")
            return []
        read_url, replica_pid = target
        with split_machine(runner, replica_pid, replica_cpus) as (placement, client_cpus):
            runner.progress(f"[I] {placement}")
            results = _three_phases(runner, read_url, replica_pid, clients, client_cpus)
        for r in results:
            r.extras["placement"] = placement
            r.extras["note"] += f"; {placement}"
        return results


def _three_phases(
    runner: IsolationRunner, read_url: str, replica_pid: int | None, clients: int, client_cpus: set[int] | None
) -> list[Result]:
    report = HEAVY_REPORT.__name__
    runner.progress(f"[I0] writes alone, {clients} clients ...")
    alone = _phase(runner, I0, "writes alone (isolation baseline)", clients, None, replica_pid, read_url)
    runner.progress(f"[I1] the same writes, {report}() in a loop on the replica ...")
    replica_loop = ReportLoop(runner.conninfo, read_url, client_cpus)
    on_replica = _phase(runner, I1, f"writes + {report} loop on replica", clients, replica_loop, replica_pid, read_url)
    runner.progress(f"[I2] the same writes, {report}() in a loop on the primary ...")
    primary_loop = ReportLoop(runner.conninfo, None, client_cpus)
    on_primary = _phase(runner, I2, f"writes + {report} loop on primary", clients, primary_loop, replica_pid, read_url)
    return [alone, on_replica, on_primary]
