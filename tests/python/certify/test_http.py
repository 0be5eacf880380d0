"""HTTP drill: callers post single entries through the HTTP service (``dualbook serve``: uvicorn, the group
poster) while the service is killed with SIGKILL and restarted under load. A caller that gets no answer -- the
connection refused or cut, a 503 -- sends the same request with the same ``Idempotency-Key`` again until it gets
one. Some requests are refused on purpose (wallets with a no-overdraft limit): a 409 is final.

After every cycle and at the end: every request the service acknowledged (201, or 200 for a replay) is in the
journal exactly once, as acknowledged; no refused request is; nothing drifts; at the end the journal is exactly
the callers' record. The cycles and callers are the grouped drill's (profile.py).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dualbook import Ledger
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from dualbook.tools.certify import AckRecord, Certification, LegTuple, ScenarioRow
from tests.python.servicekit import auth, free_port, wait_healthy, write_tokens

from .profile import PROFILE

WALLETS = [f"wallet:{i}" for i in range(12)]
RESTART_SECONDS = 60.0


class HttpDrill:
    def __init__(self, db_url: str, workdir: Path) -> None:
        self.db_url = db_url  # the checker's (the owner's); the service connects as the application role
        self.app_url = roles.url_as(db_url, roles.APP)
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tokens = write_tokens(workdir / "tokens.json")
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.acks: dict[str, AckRecord] = {}
        self.refused: set[str] = set()
        self.inflight: dict[int, str] = {}
        self.progress: dict[int, int] = {}
        self.epoch = 0
        self.resent = 0
        self.stop = threading.Event()
        self.errors: list[BaseException] = []

    def start(self) -> None:
        cmd = [sys.executable, "-m", "dualbook.cli", "serve", "--port", str(self.port), "--tokens", str(self.tokens)]
        log = (self.workdir / "service.log").open("ab")
        self.proc = subprocess.Popen(cmd, env=dict(os.environ, DATABASE_URL=self.app_url), stdout=log, stderr=log)
        log.close()
        wait_healthy(self.base, self.proc, RESTART_SECONDS)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def caller(self, c: int) -> None:
        rnd = random.Random(c)
        j = 0
        request: tuple[str, list[LegTuple]] | None = None
        try:
            with httpx.Client(base_url=self.base, headers=auth("poster"), timeout=30) as client:
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
                        request = (f"http:{c}:{j}", legs)
                        with self.lock:
                            self.inflight[c] = request[0]
                    key, legs = request
                    body = {"legs": [{"account": a, "amount": n, "currency": cur} for a, n, cur in legs]}
                    try:
                        r = client.post("/v1/entries", json=body, headers={"Idempotency-Key": key})
                    except httpx.TransportError:
                        r = None
                    if r is None or r.status_code == 503:  # no answer: the same request again
                        with self.lock:
                            self.resent += 1
                        time.sleep(0.05)
                        continue
                    if r.status_code in (200, 201):
                        with self.lock:
                            self.acks[key] = AckRecord(r.json()["entry_id"], tuple(legs))
                    elif r.status_code == 409 and r.json()["code"] == "LD203":
                        with self.lock:  # a definite refusal: final
                            self.refused.add(key)
                    else:
                        raise AssertionError(f"unexpected answer {r.status_code}: {r.text}")
                    with self.lock:
                        del self.inflight[c]
                        self.progress[c] = self.epoch
                    request = None
        except BaseException as exc:
            with self.lock:
                self.errors.append(exc)


def wait_for_everyone(drill: HttpDrill, callers: int, epoch: int) -> None:
    deadline = time.monotonic() + RESTART_SECONDS
    while True:
        with drill.lock:
            if drill.errors:
                raise drill.errors[0]
            if len(drill.progress) == callers and all(e >= epoch for e in drill.progress.values()):
                return
        assert time.monotonic() < deadline, "callers did not get answers after the restart"
        time.sleep(0.02)


def run_cycle(drill: HttpDrill, row: ScenarioRow, cycle: int, rnd: random.Random, callers: int) -> None:
    time.sleep(rnd.uniform(0.3, 1.0))  # under load
    drill.kill()
    row.add("service kill -9", 1)
    row.faults += 1
    time.sleep(rnd.uniform(0.0, 0.3))  # callers find nobody listening
    drill.start()
    with drill.lock:
        drill.epoch += 1
        epoch = drill.epoch
    wait_for_everyone(drill, callers, epoch)
    with drill.lock:
        acks, refused, inflight = dict(drill.acks), set(drill.refused), set(drill.inflight.values())
    row.verify(drill.db_url, acks, inflight, refused=refused, where=f"http cycle {cycle}")


@pytest.fixture
def ledger_db(cluster: Cluster) -> Iterator[str]:
    url = fresh_database(cluster, prefix="http_drill")
    yield url
    drop_database(cluster, url)


def test_http_drill(certification: Certification, ledger_db: str, tmp_path: Path) -> None:
    cycles, callers = PROFILE.grouped_cycles, PROFILE.grouped_callers
    title = f"http ({callers} callers over HTTP, the service killed with SIGKILL and restarted {cycles} times)"
    with certification.scenario(title) as row:
        with Ledger.connect(ledger_db, max_size=1) as setup:
            setup.create_account("bank", "USD", "asset")
            for w in WALLETS:
                setup.create_account(w, "USD", "liability", lower_limit=0)
        drill = HttpDrill(ledger_db, tmp_path)
        drill.start()
        threads = [threading.Thread(target=drill.caller, args=(c,), daemon=True) for c in range(callers)]
        for t in threads:
            t.start()
        rnd = random.Random(18)
        try:
            for cycle in range(1, cycles + 1):
                run_cycle(drill, row, cycle, rnd, callers)
        finally:
            drill.stop.set()
            for t in threads:
                t.join(timeout=RESTART_SECONDS)
            if drill.proc is not None and drill.proc.poll() is None:
                drill.proc.send_signal(signal.SIGTERM)
                drill.proc.wait(timeout=30)
        assert not drill.errors, drill.errors
        row.transactions = len(drill.acks) + len(drill.refused)
        row.note("acknowledged", len(drill.acks))
        row.note("refused", len(drill.refused))
        row.note("requests resent after no answer", drill.resent)
        assert drill.refused, "the drill meant to have some requests refused"
        assert drill.resent, "the kills meant to cut some requests off"
        row.verify(ledger_db, drill.acks, refused=drill.refused, complete=True, where="http drill, end")
