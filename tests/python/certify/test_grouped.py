"""Grouped drill: many callers post single entries through ONE group poster (dualbook.group) while the faults hit
what grouping adds -- a whole group in flight at once. Odd cycles kill the writer connections in the middle of
their post_entries calls (pg_terminate_backend: the COMMIT of a group may or may not have happened); even cycles
kill the whole server with SIGKILL and let crash recovery bring it back.

Some requests are refused on purpose (wallets with a no-overdraft limit, drained by their own payments): a refusal
is final, so the caller moves on. After every cycle and at the end: every acknowledged request is in the journal
exactly once, as acknowledged; no refused request is; nothing drifts; at the end the journal is exactly the callers'
record (every request was either acknowledged or refused).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable

import psycopg

from dualbook import GroupPolicy, Ledger, RetryPolicy
from dualbook import errors as E
from dualbook.testing import deploy_template, throwaway_cluster
from dualbook.tools.certify import AckRecord, Certification, LegTuple, ScenarioRow

from .profile import PROFILE
from .test_crash import RECOVERY_SECONDS, alive, children_of

WALLETS = [f"wallet:{i}" for i in range(12)]
APP_NAME = "dualbook-grouped-drill"


class GroupedDrill:
    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self.acks: dict[str, AckRecord] = {}
        self.refused: set[str] = set()
        self.inflight: dict[int, str] = {}
        self.progress: dict[int, int] = {}
        self.epoch = 0
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.interrupted = 0
        self.ledger = Ledger.connect(
            f"{url}?application_name={APP_NAME}",
            min_size=2,
            max_size=4,
            timeout=2,
            retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.1),
            group=GroupPolicy(max_entries=50, max_wait=0.002, writers=2),
        )

    def wait_for_server(self) -> None:
        deadline = time.monotonic() + RECOVERY_SECONDS
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise AssertionError("the server did not come back")

    def caller(self, c: int) -> None:
        rnd = random.Random(c)
        j = 0
        request: tuple[str, list[LegTuple]] | None = None
        try:
            while True:
                if request is None:
                    if self.stop.is_set():
                        break
                    j += 1
                    src, dst = rnd.sample(WALLETS, 2)
                    if rnd.random() < 0.3:  # a top-up from the bank
                        amount = rnd.randint(1, 500)
                        legs = [("bank", amount, "USD"), (dst, -amount, "USD")]
                    else:  # a payment between wallets, refused when the payer's wallet would go negative
                        amount = rnd.randint(1, 400)
                        legs = [(src, amount, "USD"), (dst, -amount, "USD")]
                    request = (f"grouped:{c}:{j}", legs)
                    with self.lock:
                        self.inflight[c] = request[0]
                key, legs = request
                try:
                    r = self.ledger.post_entry(
                        key, [{"account": a, "amount": n, "currency": cur} for a, n, cur in legs]
                    )
                except (E.ConflictError, E.ValidationError):
                    with self.lock:  # a definite refusal: final
                        self.refused.add(key)
                        del self.inflight[c]
                        self.progress[c] = self.epoch
                    request = None
                    continue
                except (E.InfrastructureError, psycopg.Error):
                    # the group's connection or the server went away: the same key again once it answers
                    with self.lock:
                        self.interrupted += 1
                    self.wait_for_server()
                    continue
                with self.lock:
                    self.acks[key] = AckRecord.of(r, legs)
                    del self.inflight[c]
                    self.progress[c] = self.epoch
                request = None
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)

    def kill_writers(self) -> int:
        with psycopg.connect(self.url, autocommit=True) as su:
            rows = su.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
            ).fetchall()
        return len(rows)


def wait_for_everyone(drill: GroupedDrill, callers: int, epoch: int) -> None:
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        with drill.lock:
            if drill.errors:
                raise drill.errors[0]
            if len(drill.progress) == callers and all(e >= epoch for e in drill.progress.values()):
                return
        assert time.monotonic() < deadline, "callers did not get answers after the fault"
        time.sleep(0.02)


def run_cycle(
    drill: GroupedDrill, cluster_restart: Callable[[], None], row: ScenarioRow, cycle: int, rnd: random.Random
) -> None:
    time.sleep(rnd.uniform(0.3, 1.0))  # under load
    if cycle % 2:
        row.add("writer connections killed", drill.kill_writers())
    else:
        cluster_restart()
        row.add("server kill -9", 1)
    row.faults += 1
    with drill.lock:
        drill.epoch += 1
        epoch = drill.epoch
    wait_for_everyone(drill, PROFILE.grouped_callers, epoch)
    with drill.lock:
        acks, refused, inflight = dict(drill.acks), set(drill.refused), set(drill.inflight.values())
    row.verify(drill.url, acks, inflight, refused=refused, where=f"grouped cycle {cycle}")


def test_grouped_drill(certification: Certification) -> None:
    cycles, callers = PROFILE.grouped_cycles, PROFILE.grouped_callers
    title = f"grouped ({callers} callers, one group poster; {cycles} faults: writers killed, kill -9 of the server)"
    with certification.scenario(title) as row, throwaway_cluster() as cluster:
        deploy_template(cluster)
        url = cluster.url("dualbook_template")
        with Ledger.connect(url, max_size=1) as setup:
            setup.create_account("bank", "USD", "asset")
            for w in WALLETS:
                setup.create_account(w, "USD", "liability", lower_limit=0)
        drill = GroupedDrill(url)

        def restart() -> None:
            pid = cluster.postmaster_pid()
            assert pid is not None
            backends = children_of(pid)
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + RECOVERY_SECONDS
            while alive(pid) or any(alive(p) for p in backends):
                assert time.monotonic() < deadline, "the killed server's processes did not exit"
                time.sleep(0.01)
            cluster.start()

        threads = [threading.Thread(target=drill.caller, args=(c,), daemon=True) for c in range(callers)]
        for t in threads:
            t.start()
        rnd = random.Random(16)
        try:
            for cycle in range(1, cycles + 1):
                run_cycle(drill, restart, row, cycle, rnd)
        finally:
            drill.stop.set()
            for t in threads:
                t.join(timeout=RECOVERY_SECONDS)
            stats = drill.ledger.group.stats if drill.ledger.group else None
            drill.ledger.close()
        assert not drill.errors, drill.errors
        assert stats is not None and stats.largest > 1  # the callers did share groups
        row.transactions = drill.ledger.stats.attempts
        row.note("acknowledged", len(drill.acks))
        row.note("refused", len(drill.refused))
        row.note("groups sent", stats.groups)
        row.note("mean group", f"{stats.mean_size:.1f}")
        row.note("requests interrupted and resent", drill.interrupted)
        assert drill.refused, "the drill meant to have some requests refused"
        row.verify(url, drill.acks, refused=drill.refused, complete=True, where="grouped drill, end")
