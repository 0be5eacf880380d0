"""CPU accounting from /proc: what the server's processes, the whole machine and this process used, so a benchmark
reports server CPU per call beside throughput (the robust figure on a shared, noisy machine)."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: by the whole machine (None off Linux), by the server's processes (None when
    the server is not a local process we can see) and by this process and its children (pgbench)."""

    wall: float
    machine_busy_s: float | None
    server_s: float | None
    server_children: int
    ours_s: float


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_stat(pid: int) -> tuple[int, float, float] | None:
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
        top = proc_stat(postmaster)
        if top is None:
            return None, 0
        total = top[1] + top[2]
        children = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                st = proc_stat(int(entry.name))
                if st is not None and st[0] == postmaster:
                    total += st[1] + st[2]
                    children += 1
        # A child reaped while /proc was being read has moved its CPU into the postmaster's 'children' counters
        # after they were read: it would be counted nowhere. Read again until nothing was reaped meanwhile.
        again = proc_stat(postmaster)
        if again is None or again[2] == top[2]:
            break
    return total, children


def cpu_sample(postmaster: int | None) -> CpuSample:
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


def wait_backends_gone(postmaster: int | None, children: int, timeout: float = 5.0) -> None:
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
        # while the connection is open: a closed connection's backend may already have exited
        st = proc_stat(backend)
    if st is None:
        return None
    try:
        if not Path(f"/proc/{st[0]}/comm").read_text().startswith("postgres"):
            return None
    except OSError:
        return None
    return st[0]
