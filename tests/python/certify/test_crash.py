"""Crash drill: client threads post under load while the whole server is killed with SIGKILL, at a random moment,
on a throwaway cluster of its own. PostgreSQL's crash recovery brings it back; the clients reconnect and retry
their unacknowledged work with the same keys until it is acknowledged. After every cycle the invariants hold:
everything acknowledged before the crash survived it, exactly once, and nothing in flight was posted twice.

Odd cycles kill only the postmaster (its backends notice and exit by themselves; one may still finish a COMMIT it
was executing), even cycles kill the postmaster and every backend at once, like a power cut.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from dualbook import Ledger, RetryPolicy
from dualbook import errors as E
from dualbook.db.cluster import Cluster
from dualbook.errors import ClusterError
from dualbook.testing import deploy_template, throwaway_cluster
from dualbook.tools.certify import AckRecord, Certification, LegTuple, ScenarioRow

from .profile import PROFILE

ACCOUNTS = [f"acct:{i}" for i in range(8)]
RECOVERY_SECONDS = 120.0


def children_of(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Drill:
    """The shared state of the clients and the killer."""

    def __init__(self, cluster: Cluster, dbname: str) -> None:
        self.cluster = cluster
        self.dbname = dbname
        self.url = cluster.url(dbname)
        self.lock = threading.Lock()
        self.acks: dict[str, AckRecord] = {}
        self.inflight: dict[int, str] = {}
        self.stop = threading.Event()
        #: the drill failed: clients give up their in-flight request instead of waiting for a server
        self.abandon = threading.Event()
        self.errors: list[BaseException] = []
        self.attempts = 0
        self.reconnects = 0
        self.recovered = 0
        self.epoch = 0  # bumped after every restart
        self.progress: dict[int, int] = {}  # client -> the epoch in which it last got an acknowledgement

    def wait_for_server(self) -> None:
        deadline = time.monotonic() + RECOVERY_SECONDS
        while time.monotonic() < deadline:
            if self.abandon.is_set():
                return
            url = self.url
            try:
                with psycopg.connect(url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise AssertionError("the server did not come back")

    def client(self, c: int) -> None:
        rnd = random.Random(c)
        lg: Ledger | None = None
        j = 0
        request: tuple[str, list[LegTuple]] | None = None
        try:
            while True:
                if request is None:
                    if self.stop.is_set():
                        break
                    j += 1
                    a, b = rnd.sample(ACCOUNTS, 2)
                    amount = rnd.randint(1, 10_000)
                    request = (f"crash:{c}:{j}", [(a, amount, "USD"), (b, -amount, "USD")])
                    with self.lock:
                        self.inflight[c] = request[0]
                key, legs = request
                if lg is None:
                    lg = Ledger.connect(
                        self.url,
                        min_size=1,
                        max_size=1,
                        timeout=2,
                        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1),
                    )
                try:
                    r = lg.post_entry(key, [{"account": a, "amount": n, "currency": cur} for a, n, cur in legs])
                except (E.RetriesExhausted, psycopg.OperationalError):
                    # The server is gone (or going): reconnect once it answers, and retry the same key. A new pool
                    # rather than the old one's reconnection backoff (seconds) gets the client going at once.
                    with self.lock:
                        self.attempts += lg.stats.attempts
                    lg.close()
                    lg = None
                    self.reconnects += 1
                    self.wait_for_server()
                    if self.abandon.is_set():
                        break
                    continue
                with self.lock:
                    self.acks[key] = AckRecord.of(r, legs)
                    del self.inflight[c]
                    self.progress[c] = self.epoch
                    self.recovered += r.recovered
                request = None
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)
        finally:
            if lg is not None:
                with self.lock:
                    self.attempts += lg.stats.attempts
                lg.close()

    def snapshot(self) -> tuple[dict[str, AckRecord], set[str]]:
        with self.lock:
            return dict(self.acks), set(self.inflight.values())

    def kill_server(self, everything: bool) -> int:
        pid = self.cluster.postmaster_pid()
        assert pid is not None and alive(pid)
        backends = children_of(pid)
        os.kill(pid, signal.SIGKILL)
        if everything:
            for child in backends:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + RECOVERY_SECONDS
        while alive(pid) or any(alive(p) for p in backends):
            assert time.monotonic() < deadline, "the killed server's processes did not exit"
            time.sleep(0.01)
        return len(backends)


def run_cycle(drill: Drill, row: ScenarioRow, cycle: int, rnd: random.Random) -> None:
    time.sleep(rnd.uniform(0.3, 1.2))  # under load
    everything = cycle % 2 == 0
    killed = drill.kill_server(everything)
    row.faults += 1
    row.add("processes killed", 1 + (killed if everything else 0))
    drill.cluster.start()  # crash recovery
    drill.url = drill.cluster.url(drill.dbname)
    with drill.lock:
        drill.epoch += 1
        epoch = drill.epoch
    # Every client gets an acknowledgement after the restart: its unacknowledged work was retried.
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        with drill.lock:
            if all(e >= epoch for e in drill.progress.values()) and len(drill.progress) == PROFILE.crash_clients:
                break
            if drill.errors:
                raise drill.errors[0]
        assert time.monotonic() < deadline, "clients did not resume after the restart"
        time.sleep(0.02)
    acks, inflight = drill.snapshot()
    row.verify(drill.url, acks, inflight, where=f"crash cycle {cycle}")


def run_drill(row: ScenarioRow, cluster: Cluster, cycles: int, clients_n: int) -> Drill:
    """Deploy, start the clients, kill and restart the server `cycles` times; the clients are stopped (or, when a
    cycle failed, abandoned) before this returns or raises."""
    deploy_template(cluster)
    dbname = "dualbook_template"  # the ledger deployed in this cluster of its own
    with Ledger.connect(cluster.url(dbname), max_size=1) as lg:
        for code in ACCOUNTS:
            lg.create_account(code, "USD", "asset")
    drill = Drill(cluster, dbname)
    # Daemon threads, abandoned at once when a cycle fails: a failed drill leaves nothing that keeps the test run
    # alive (the cluster itself is destroyed by throwaway_cluster).
    clients = [
        threading.Thread(target=drill.client, args=(c,), daemon=True, name=f"crash-client-{c}")
        for c in range(clients_n)
    ]
    for t in clients:
        t.start()
    rnd = random.Random(6)
    try:
        for cycle in range(1, cycles + 1):
            run_cycle(drill, row, cycle, rnd)
    except BaseException:
        drill.abandon.set()
        raise
    finally:
        drill.stop.set()
        for t in clients:
            t.join(timeout=RECOVERY_SECONDS)
    return drill


def test_crash_drill(certification: Certification) -> None:
    cycles, clients_n = PROFILE.crash_cycles, PROFILE.crash_clients
    with (
        certification.scenario(f"crash drill ({cycles} x kill -9 of the server, {clients_n} clients)") as row,
        throwaway_cluster() as cluster,
    ):
        drill = run_drill(row, cluster, cycles, clients_n)
        assert not drill.errors, drill.errors
        row.transactions = drill.attempts
        row.note("acknowledged", len(drill.acks))
        row.note("client reconnects", drill.reconnects)
        row.note("lost COMMITs resolved by replay", drill.recovered)
        # Every request was eventually acknowledged: the journal is exactly the client's record.
        row.verify(drill.url, drill.acks, complete=True, where="crash drill, end")


def test_a_failed_restart_leaves_no_client_behind() -> None:
    """The restart after the kill fails (as it did when orphaned backends held the shared memory): the drill
    raises that error at once, and no client thread outlives it waiting for a server that will not come."""

    def start_fails(wait_seconds: float = 60) -> None:
        raise ClusterError("server did not start (simulated)")

    with throwaway_cluster() as cluster:
        began = time.monotonic()
        with pytest.raises(ClusterError, match="simulated"):
            cluster.start()  # the real one: the cluster is running, a no-op
            object.__setattr__(cluster, "start", start_fails)
            run_drill(ScenarioRow("failed restart"), cluster, cycles=1, clients_n=3)
        assert time.monotonic() - began < RECOVERY_SECONDS / 2
        assert not [t.name for t in threading.enumerate() if t.name.startswith("crash-client-")]
