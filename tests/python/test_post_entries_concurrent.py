"""Batches under contention: threads posting ledger.post_entries() batches (mostly through the set-based path,
sometimes through the per-entry one when an entry overdraws a wallet) race threads posting single entries and the
sequencer, over a few no-overdraft wallets and a deferred fee account. Every acknowledgement and refusal is
recorded; afterwards the books pass every certification invariant and hold exactly what was acknowledged.
The checker is dualbook.tools.certify.check_invariants, the one the certification suite and the demo use."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from dualbook import EntryRequest, Ledger, Leg, RetryPolicy, credit, debit
from dualbook import errors as E
from dualbook.tools.certify import AckRecord, check_invariants, leg_tuples

WALLETS = [f"wallet:{i}" for i in range(8)]
SEED = 5_000
BATCH_THREADS = 3
SINGLE_THREADS = 3
ROUNDS = 25


def test_batches_race_single_entries_and_the_sequencer(db_url: str, sequencer_url: str) -> None:
    patient = RetryPolicy(max_attempts=500, base_delay=0.001, max_delay=0.05)
    acks: dict[str, AckRecord] = {}
    refused: set[str] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []
    batches_posted_whole = 0
    threads = BATCH_THREADS + SINGLE_THREADS
    with Ledger.connect(db_url, min_size=threads, max_size=threads, retry=patient) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("fees", "USD", "income", deferred=True)
        for w in WALLETS:
            lg.create_account(w, "USD", "liability", lower_limit=0)
        for w in WALLETS:
            legs = [debit("bank", SEED, "USD"), credit(w, SEED, "USD")]
            acks[f"seed:{w}"] = AckRecord.of(lg.post_entry(f"seed:{w}", legs), legs)
        start = threading.Barrier(threads + 1)
        done = threading.Event()

        def transfer(rnd: random.Random) -> list[Leg]:
            src, dst = rnd.sample(WALLETS, 2)
            amount = rnd.randint(1, SEED // 8)
            if rnd.random() < 0.5:
                return [debit(src, amount + 3, "USD"), credit(dst, amount, "USD"), credit("fees", 3, "USD")]
            return [debit(src, amount, "USD"), credit(dst, amount, "USD")]

        def batcher(t: int) -> None:
            nonlocal batches_posted_whole
            rnd = random.Random(t)
            start.wait()
            for j in range(ROUNDS):
                reqs = [EntryRequest(f"b:{t}:{j}:{i}", transfer(rnd)) for i in range(rnd.randint(4, 30))]
                results = lg.post_entries(reqs)
                with lock:
                    batches_posted_whole += all(r.status == "posted" for r in results)
                    for req, r in zip(reqs, results, strict=True):
                        if r.status in ("rejected", "refused"):  # a limit refusal is recorded with its key
                            assert isinstance(r.error, E.LimitExceeded), r
                            refused.add(req.key)
                        else:
                            assert r.entry_id is not None
                            acks[req.key] = AckRecord(r.entry_id, leg_tuples(req.legs))

        def single(t: int) -> None:
            rnd = random.Random(100 + t)
            start.wait()
            for j in range(ROUNDS * 4):
                key = f"s:{t}:{j}"
                legs = transfer(rnd)
                try:
                    r = lg.post_entry(key, legs)
                except E.LimitExceeded:
                    with lock:
                        refused.add(key)
                    continue
                with lock:
                    acks[key] = AckRecord.of(r, legs)

        def sequencer() -> None:
            with Ledger.connect(sequencer_url, min_size=1, max_size=1) as seq:
                start.wait()
                while not done.wait(0.02):
                    seq.sequence_deferred(200)

        def guard(fn: Callable[..., None], *args: object) -> threading.Thread:
            def run() -> None:
                try:
                    fn(*args)
                except BaseException as e:
                    errors.append(e)

            th = threading.Thread(target=run)
            th.start()
            return th

        workers = [guard(batcher, t) for t in range(BATCH_THREADS)] + [guard(single, t) for t in range(SINGLE_THREADS)]
        seq_thread = guard(sequencer)
        for w in workers:
            w.join()
        done.set()
        seq_thread.join()
        assert not errors, errors
        with Ledger.connect(sequencer_url, min_size=1, max_size=1) as seq:
            seq.drain_deferred()
    report = check_invariants(db_url, acks, refused=refused, complete=True)
    assert report.ok, str(report)
    # the race exercised both paths: whole batches set-based, batches with a refusal per entry
    assert batches_posted_whole >= 5 and refused, (batches_posted_whole, len(refused))
