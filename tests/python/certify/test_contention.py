"""Contention stress: many threads post random transfers among a few no-overdraft wallets through one Ledger, so
nearly every transaction conflicts with another; the adapter retries serialization failures patiently. Every
acknowledgement and every refusal is recorded; afterwards the journal holds exactly the acknowledged postings."""

from __future__ import annotations

import random
import threading

from dualbook import Ledger, RetryPolicy, credit, debit
from dualbook import errors as E
from dualbook.tools.certify import AckRecord, Certification

from .profile import PROFILE

WALLETS = [f"wallet:{i}" for i in range(5)]
SEED = 20_000


def test_contention_stress(db_url: str, certification: Certification) -> None:
    threads = PROFILE.contention_threads
    patient = RetryPolicy(max_attempts=500, base_delay=0.001, max_delay=0.05)
    acks: dict[str, AckRecord] = {}
    refused: set[str] = set()
    unknown: set[str] = set()
    inflight: dict[int, str] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()

    with certification.scenario(f"contention stress ({threads} threads, {len(WALLETS)} wallets)") as row:
        with Ledger.connect(db_url, min_size=threads, max_size=threads, retry=patient) as lg:
            lg.create_account("bank", "USD", "asset")
            lg.create_account("fees", "USD", "income")
            for w in WALLETS:
                lg.create_account(w, "USD", "liability", lower_limit=0)
            for w in WALLETS:
                legs = [debit("bank", SEED, "USD"), credit(w, SEED, "USD")]
                acks[f"seed:{w}"] = AckRecord.of(lg.post_entry(f"seed:{w}", legs), legs)
            start = threading.Barrier(threads)

            def client(t: int) -> None:
                rnd = random.Random(t)
                start.wait()
                for j in range(PROFILE.contention_transfers):
                    key = f"x:{t}:{j}"
                    src, dst = rnd.sample(WALLETS, 2)
                    amount = rnd.randint(1, SEED // 4)
                    legs = [debit(src, amount, "USD"), credit(dst, amount, "USD")]
                    if rnd.random() < 0.2:  # with a fee: a third hot row
                        fee = rnd.randint(1, 50)
                        legs = [debit(src, amount + fee, "USD"), credit(dst, amount, "USD"), credit("fees", fee, "USD")]
                    with lock:
                        inflight[t] = key
                    try:
                        r = lg.post_entry(key, legs)
                    except E.LimitExceeded:
                        with lock:
                            refused.add(key)
                            del inflight[t]
                        continue
                    except E.RetriesExhausted:
                        with lock:
                            unknown.add(key)
                            del inflight[t]
                        continue
                    except BaseException as exc:
                        with lock:
                            errors.append(exc)
                        return
                    with lock:
                        acks[key] = AckRecord.of(r, legs)
                        del inflight[t]

            def checker() -> None:
                """Invariants under load: what was acknowledged before the snapshot must be there, what is in
                flight at most once."""
                while not done.wait(0.5):
                    with lock:
                        seen, pending = dict(acks), set(inflight.values()) | unknown
                    row.verify(db_url, seen, pending, refused=set(refused), where="contention, under load")

            workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
            for w in workers:
                w.start()
            check_errors: list[BaseException] = []

            def run_checker() -> None:
                try:
                    checker()
                except BaseException as exc:
                    check_errors.append(exc)

            watcher = threading.Thread(target=run_checker)
            watcher.start()
            for w in workers:
                w.join()
            done.set()
            watcher.join()
            stats = lg.stats
            if check_errors:
                raise check_errors[0]

        row.transactions = stats.attempts
        row.note("acknowledged", len(acks))
        row.note("refused (LD203)", len(refused))
        row.note("serialization failures retried", stats.serialization_failures)
        row.note("gave up", stats.gave_up)
        assert not errors, errors
        report = row.verify(db_url, acks, unknown, refused=refused, complete=True)
        assert report.unknown_present == 0 or unknown
        assert report.entries == len(acks) + report.unknown_present  # acknowledged count == journal count
        assert stats.serialization_failures > 0, "no conflicts: the stress test did not stress anything"
        assert not unknown, f"{len(unknown)} postings gave up after {patient.max_attempts} attempts"
