"""A posting client run as a separate process by test_client_kill.py, which SIGKILLs it at a random moment.

Usage: python client_proc.py URL PREFIX FIRST

Transaction i posts two entries, ``PREFIX:i:a`` and ``PREFIX:i:b``, in ONE SERIALIZABLE transaction with a pause
between them, so that a kill usually lands inside an open transaction. It prints ``begin i`` before the
transaction and ``ack i <entry a> <entry b> <attempts>`` after COMMIT returned. The requests are a function of
(PREFIX, i): the parent re-posts them with the same keys after the drill.
"""

from __future__ import annotations

import random
import sys
import time
from functools import partial
from typing import Any

from dualbook import Ledger, RetryPolicy

ACCOUNTS = [f"proc:{i}" for i in range(4)]


def requests_for(prefix: str, i: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """The two (key, legs) postings of transaction i."""
    rnd = random.Random(f"{prefix}:{i}")
    out = []
    for part in ("a", "b"):
        src, dst = rnd.sample(ACCOUNTS, 2)
        amount = rnd.randint(1, 1000)
        out.append(
            (
                f"{prefix}:{i}:{part}",
                [
                    {"account": src, "amount": amount, "currency": "USD"},
                    {"account": dst, "amount": -amount, "currency": "USD"},
                ],
            )
        )
    return out


def post_pair(lg: Ledger, pair: list[tuple[str, list[dict[str, Any]]]], pause: float, conn: Any) -> tuple[int, int]:
    """Transaction i: two entries with a pause between them (the window the parent aims its SIGKILL at)."""
    (key_a, legs_a), (key_b, legs_b) = pair
    a = lg.post_entry(key_a, legs_a, conn=conn)
    time.sleep(pause)
    b = lg.post_entry(key_b, legs_b, conn=conn)
    return a.entry_id, b.entry_id


def main() -> None:
    url, prefix, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rnd = random.Random()
    with Ledger.connect(url, min_size=1, max_size=1, retry=RetryPolicy(max_attempts=50)) as lg:
        print("ready", flush=True)
        i = first
        while True:
            before = lg.stats.attempts
            print(f"begin {i}", flush=True)
            entry_a, entry_b = lg.transaction(partial(post_pair, lg, requests_for(prefix, i), rnd.uniform(0, 0.02)))
            print(f"ack {i} {entry_a} {entry_b} {lg.stats.attempts - before}", flush=True)
            i += 1


if __name__ == "__main__":
    main()
