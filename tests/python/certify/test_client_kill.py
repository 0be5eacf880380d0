"""Client-kill drill: a posting client process (client_proc.py) is SIGKILLed at a random moment, again and again,
usually inside a transaction that posts two entries. Nothing may be half-posted: after every kill the invariants
hold, every acknowledged pair exists exactly once, and of the pair in flight either both entries exist or neither.
Finally the unacknowledged pairs are posted again with the same keys, and the journal is exactly the record."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from dualbook import Ledger
from dualbook.tools.certify import AckRecord, Certification, leg_tuples

from .client_proc import ACCOUNTS, requests_for
from .profile import PROFILE

CLIENT = Path(__file__).with_name("client_proc.py")
APP = "certify-client"


def run_and_kill(url: str, first: int, rnd: random.Random) -> list[str]:
    """Start a client process, let it post for a random while, SIGKILL it; its output lines."""
    proc = subprocess.Popen(
        [sys.executable, str(CLIENT), f"{url}?application_name={APP}", "proc", str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("ready"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "the client process did not start"
        time.sleep(rnd.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"client exited by itself ({proc.returncode}): {lines[-3:]}"
    return lines


def wait_backends_gone(url: str) -> None:
    """The killed client's backend notices the closed socket and rolls back; wait for that."""
    deadline = time.monotonic() + 60
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APP,)).fetchone() != (
            0,
        ):
            assert time.monotonic() < deadline, "the killed client's backend is still there"
            time.sleep(0.01)


def test_client_kill_drill(db_url: str, certification: Certification) -> None:
    kills = PROFILE.client_kills
    rnd = random.Random(9)
    acks: dict[str, AckRecord] = {}
    in_flight: set[int] = set()
    transactions = 0
    mid_transaction = 0
    with certification.scenario(f"client-kill drill ({kills} x SIGKILL of a posting process)") as row:
        with Ledger.connect(db_url, max_size=1) as lg:
            for code in ACCOUNTS:
                lg.create_account(code, "USD", "asset")
        first = 1
        for _ in range(kills):
            lines = run_and_kill(db_url, first, rnd)
            row.faults += 1
            begun = [int(x.split()[1]) for x in lines if x.startswith("begin ")]
            for x in lines:
                if x.startswith("ack "):
                    _, i, entry_a, entry_b, tries = x.split()
                    (key_a, legs_a), (key_b, legs_b) = requests_for("proc", int(i))
                    acks[key_a] = AckRecord(int(entry_a), leg_tuples(legs_a))
                    acks[key_b] = AckRecord(int(entry_b), leg_tuples(legs_b))
                    transactions += int(tries)
            unacked = [i for i in begun if f"proc:{i}:a" not in acks]
            assert len(unacked) <= 1
            if unacked:
                mid_transaction += 1
                transactions += 1
                in_flight.update(unacked)
            first = (max(begun) if begun else first - 1) + 1
            wait_backends_gone(db_url)
            unknown = {f"proc:{i}:{p}" for i in in_flight for p in "ab"}
            row.verify(db_url, acks, unknown, where="client-kill drill")
            with psycopg.connect(db_url, autocommit=True) as conn:
                present = {
                    k
                    for (k,) in conn.execute(
                        "SELECT idempotency_key FROM ledger.entries WHERE idempotency_key = ANY(%s)", (list(unknown),)
                    ).fetchall()
                }
            half = [i for i in in_flight if (f"proc:{i}:a" in present) != (f"proc:{i}:b" in present)]
            assert not half, f"half-posted transactions: {half}"
        committed_in_flight = len({k.rsplit(":", 1)[0] for k in present})

        # The client's retry with the same keys: each pair ends exactly once.
        with Ledger.connect(db_url, max_size=1) as lg:
            for i in sorted(in_flight):
                (key_a, legs_a), (key_b, legs_b) = requests_for("proc", i)
                pair = lg.transaction(
                    lambda c, ka=key_a, la=legs_a, kb=key_b, lb=legs_b: (
                        lg.post_entry(ka, la, conn=c),
                        lg.post_entry(kb, lb, conn=c),
                    )
                )
                acks[key_a] = AckRecord.of(pair[0], legs_a)
                acks[key_b] = AckRecord.of(pair[1], legs_b)
                assert pair[0].created == pair[1].created
                transactions += 1
        row.transactions = transactions
        row.note("kills inside a transaction", mid_transaction)
        row.note("in-flight pairs found committed", committed_in_flight)
        row.note("acknowledged entries", len(acks))
        row.verify(db_url, acks, complete=True, where="client-kill drill, after the retries")
