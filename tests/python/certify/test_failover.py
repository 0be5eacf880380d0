"""Failover drill: a synchronous pair (dualbook.db.pair) under a grouped write workload of several callers and a
reader on the standby; the primary is killed with SIGKILL (the postmaster and every backend: a power cut), the
standby promoted and the old primary re-attached with pg_rewind (``failover``), again and again, so the two nodes
take turns. The callers know nothing of it: their client has the pair's multi-host URL (target_session_attrs=
primary) and resends a request whose answer was lost with its key.

After every promotion: every acknowledged request is in the new primary's journal exactly once, as acknowledged;
no refused one is; nothing drifts; the books check and the audit chains verify; the sealed range never shrinks;
and once re-attached, the new standby holds every acknowledged request too. The time from the kill to the first
acknowledged write after it is the RTO (p50 and max in the table).

Standby lost: the synchronous standby's WAL receiver is stopped (SIGSTOP, as a cut network would leave it): a
posting is not acknowledged meanwhile -- the caller waits, statement_timeout notwithstanding -- and once the
receiver runs again it is acknowledged, and it is on both nodes.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dualbook import GroupPolicy, Ledger, PostResult, ReadPolicy, RetryPolicy
from dualbook import errors as E
from dualbook.audit.journal import seal, verify_database
from dualbook.db.cluster import Cluster
from dualbook.db.pair import Pair, failover
from dualbook.testing import TEMPLATE_DB, _tmp_base, deploy_template, fresh_database, wait_for_replay
from dualbook.tools.certify import AckRecord, Certification, LegTuple, ScenarioRow

from .profile import PROFILE
from .test_crash import RECOVERY_SECONDS, alive, children_of

WALLETS = [f"wallet:{i}" for i in range(10)]
#: a caller's pause after each answer: a steady load, not the most the two cores can take (the audit after every
#: promotion re-reads the whole journal)
PACE = 0.05


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with throwaway_pair() as p:
        yield p


@contextlib.contextmanager
def throwaway_pair() -> Iterator[Pair]:
    """A synchronous embedded pair in a temp directory, the ledger deployed in TEMPLATE_DB; removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="dualbook-failover-", dir=_tmp_base()))
    os.chmod(base, 0o755)
    pair = Pair.load(base / "pgdata")
    try:
        primary = pair.primary()
        primary.start()
        deploy_template(primary)
        with Ledger.connect(primary.url(TEMPLATE_DB), max_size=1) as setup:
            setup.create_account("bank", "USD", "asset")
            for w in WALLETS:
                setup.create_account(w, "USD", "liability", lower_limit=0)
        pair.standby().start()
        pair.sync = True
        pair.save()
        pair.wait_streaming()
        pair.apply_sync()
        yield pair
    finally:
        for node in ("a", "b"):
            Cluster(pair.node_dir(node)).destroy()
        shutil.rmtree(base, ignore_errors=True)


def power_cut(cluster: Cluster) -> None:
    """SIGKILL the postmaster and every backend at once; return when they are gone."""
    pid = cluster.postmaster_pid()
    assert pid is not None and alive(pid)
    backends = children_of(pid)
    os.kill(pid, signal.SIGKILL)
    for child in backends:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + RECOVERY_SECONDS
    while alive(pid) or any(alive(p) for p in backends):
        assert time.monotonic() < deadline, "the killed server's processes did not exit"
        time.sleep(0.01)


class FailoverDrill:
    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.url = pair.multihost_url(TEMPLATE_DB)
        self.lock = threading.Lock()
        self.acks: dict[str, AckRecord] = {}
        self.refused: set[str] = set()
        self.inflight: dict[int, str] = {}
        self.progress: dict[int, int] = {}
        self.epoch = 0
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.interrupted = 0
        self.recovered = 0
        self.reads = 0
        self.read_errors = 0
        self.killed_at: float | None = None
        self.first_ack: float | None = None
        self.ledger = Ledger.connect(
            self.url,
            min_size=2,
            max_size=4,
            timeout=10,
            retry=RetryPolicy(max_attempts=30, base_delay=0.01, max_delay=0.2),
            group=GroupPolicy(max_entries=50, max_wait=0.002, writers=2),
        )

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
                    if rnd.random() < 0.3:
                        amount = rnd.randint(1, 500)
                        legs = [("bank", amount, "USD"), (dst, -amount, "USD")]
                    else:
                        amount = rnd.randint(1, 400)
                        legs = [(src, amount, "USD"), (dst, -amount, "USD")]
                    request = (f"failover:{c}:{j}", legs)
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
                    with self.lock:  # the answer was lost: the same key again, the client finds the new primary
                        self.interrupted += 1
                    time.sleep(0.05)
                    continue
                now = time.monotonic()
                with self.lock:
                    self.acks[key] = AckRecord.of(r, legs)
                    del self.inflight[c]
                    self.progress[c] = self.epoch
                    self.recovered += r.recovered
                    if self.killed_at is not None and self.first_ack is None:
                        self.first_ack = now
                request = None
                time.sleep(PACE)
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)

    def reader(self) -> None:
        """The trial balance on the standby (prefer-standby: the primary while there is none), read-your-writes:
        it must balance in every snapshot."""
        read_url = self.url.replace("target_session_attrs=primary", "target_session_attrs=prefer-standby")
        policy = ReadPolicy(fallback=True, timeout=2.0)
        with Ledger.connect(self.url, max_size=1, timeout=5, read_url=read_url, read_policy=policy) as lg:
            while not self.stop.is_set():
                try:
                    unbalanced = [row for row in lg.trial_balance() if row[3] != 0]
                except (E.InfrastructureError, psycopg.Error):
                    self.read_errors += 1
                    time.sleep(0.1)
                    continue
                if unbalanced:
                    with self.lock:
                        self.errors.append(AssertionError(f"the books do not balance on the reader: {unbalanced}"))
                    return
                self.reads += 1
                time.sleep(0.05)


def wait_for_everyone(drill: FailoverDrill, callers: int, epoch: int) -> None:
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        with drill.lock:
            if drill.errors:
                raise drill.errors[0]
            if len(drill.progress) == callers and all(e >= epoch for e in drill.progress.values()):
                return
        assert time.monotonic() < deadline, "callers did not get answers after the failover"
        time.sleep(0.02)


def run_cycle(drill: FailoverDrill, row: ScenarioRow, cycle: int, rnd: random.Random, rtos: list[float]) -> None:
    pair = drill.pair
    time.sleep(rnd.uniform(0.4, 1.0))  # under load
    with Ledger.connect(drill.url, max_size=1, timeout=10) as admin:
        seal(admin)
        sealed_before = verify_database(admin).sealed_through
    old = pair.primary()
    killed_at = time.monotonic()
    power_cut(old)
    with drill.lock:  # an answer read before the kill took effect is not one of the new primary's
        drill.killed_at, drill.first_ack = killed_at, None
    row.faults += 1
    report = failover(pair)
    assert report.reattached and pair.primary().datadir != old.datadir
    row.add("promote ms (sum)", int(report.steps["promote"] * 1000))
    with drill.lock:
        drill.epoch += 1
        epoch = drill.epoch
    wait_for_everyone(drill, PROFILE.failover_callers, epoch)
    with drill.lock:
        assert drill.killed_at is not None and drill.first_ack is not None
        rtos.append(drill.first_ack - drill.killed_at)
        acks, refused, inflight = dict(drill.acks), set(drill.refused), set(drill.inflight.values())
    where = f"failover cycle {cycle}, new primary {pair.primary().datadir.name}"
    row.verify(drill.url, acks, inflight, refused=refused, where=where)
    with Ledger.connect(drill.url, max_size=1, timeout=10) as admin:
        assert admin.books_check() == [], where
        seal(admin)
        audit = verify_database(admin)
        assert audit.ok, (where, audit.findings)
        assert audit.sealed_through >= sealed_before, where  # nothing sealed (and acknowledged) was lost
    # the re-attached standby has every acknowledged request as well
    primary, standby = pair.primary(), pair.standby()
    wait_for_replay(primary, standby)
    row.verify(standby.url(TEMPLATE_DB), acks, inflight, refused=refused, where=f"{where}, on the standby")


def test_failover_drill(certification: Certification, pair: Pair) -> None:
    cycles, callers = PROFILE.failover_cycles, PROFILE.failover_callers
    title = f"failover ({cycles} x kill -9 of the primary, standby promoted, old one rewound; {callers} callers)"
    with certification.scenario(title) as row:
        drill = FailoverDrill(pair)
        threads = [threading.Thread(target=drill.caller, args=(c,), daemon=True) for c in range(callers)]
        threads.append(threading.Thread(target=drill.reader, daemon=True))
        for t in threads:
            t.start()
        rnd = random.Random(19)
        rtos: list[float] = []
        nodes = []
        try:
            for cycle in range(1, cycles + 1):
                nodes.append(pair.primary_node)
                run_cycle(drill, row, cycle, rnd, rtos)
        finally:
            drill.stop.set()
            for t in threads:
                t.join(timeout=RECOVERY_SECONDS)
            drill.ledger.close()
        assert not drill.errors, drill.errors
        assert nodes[:2] == ["a", "b"]  # the nodes took turns
        row.transactions = drill.ledger.stats.attempts
        row.note("acknowledged", len(drill.acks))
        row.note("refused", len(drill.refused))
        row.note("requests interrupted and resent", drill.interrupted)
        row.note("lost connections retried", drill.ledger.stats.connection_losses)
        row.note("lost answers resolved by key", drill.recovered)
        row.note("reads on the standby", drill.reads)
        row.note("RTO p50 ms", int(statistics.median(rtos) * 1000))
        row.note("RTO max ms", int(max(rtos) * 1000))
        print(f"failover RTO (kill -> first acknowledged write): {', '.join(f'{r:.2f}' for r in rtos)} s")
        assert drill.refused, "the drill meant to have some requests refused"
        assert drill.reads > 0
        row.verify(drill.url, drill.acks, refused=drill.refused, complete=True, where="failover drill, end")


def _legs(amount: int) -> list[dict[str, object]]:
    return [
        {"account": "bank", "amount": amount, "currency": "USD"},
        {"account": WALLETS[0], "amount": -amount, "currency": "USD"},
    ]


def test_standby_lost(certification: Certification, pair: Pair) -> None:
    title = "standby lost (the synchronous standby's WAL receiver stopped: nothing acknowledged meanwhile)"
    with certification.scenario(title) as row:
        dbname = fresh_database(pair.primary(), prefix="lost").rsplit("/", 1)[1]
        url = pair.multihost_url(dbname)
        primary, standby = pair.primary(), pair.standby()
        with psycopg.connect(standby.url("postgres"), autocommit=True) as s:
            found = s.execute("SELECT pid FROM pg_stat_wal_receiver").fetchone()
        assert found is not None
        receiver = int(found[0])
        outcome: dict[str, object] = {}
        with Ledger.connect(f"{url}&options=-c%20statement_timeout%3D1000", max_size=2, timeout=10) as lg:
            before = lg.post_entry("lost:before", _legs(100))
            os.kill(receiver, signal.SIGSTOP)
            stopped_at = time.monotonic()

            def post() -> None:
                try:
                    outcome["r"] = lg.post_entry("lost:during", _legs(200))
                    outcome["at"] = time.monotonic()
                except BaseException as exc:
                    outcome["error"] = exc

            t = threading.Thread(target=post, daemon=True)
            try:
                t.start()
                t.join(3.0)  # three times the statement_timeout
                assert t.is_alive() and not outcome, outcome  # no answer: the caller waits
                with psycopg.connect(primary.url("postgres"), autocommit=True) as p:
                    waiting = p.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'").fetchone()
                assert waiting is not None and waiting[0] >= 1  # its COMMIT waits for the standby
            finally:
                os.kill(receiver, signal.SIGCONT)
            t.join(RECOVERY_SECONDS)
            assert "r" in outcome, outcome
            blocked = float(outcome["at"]) - stopped_at  # type: ignore[arg-type]
        acks = {"lost:before": AckRecord.of(before, [("bank", 100, "USD"), (WALLETS[0], -100, "USD")])}
        during = outcome["r"]
        assert isinstance(during, PostResult)
        acks["lost:during"] = AckRecord.of(during, [("bank", 200, "USD"), (WALLETS[0], -200, "USD")])
        wait_for_replay(primary, standby)
        row.verify(primary.url(dbname), acks, where="standby lost, primary")
        row.verify(standby.url(dbname), acks, where="standby lost, standby")
        row.faults = 1
        row.transactions = 2
        row.note("acknowledged while the standby was away", 0)
        row.note("caller blocked s", f"{blocked:.1f}")
