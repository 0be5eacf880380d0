"""P1adj: false conflicts between postings that share no account, on accounts created one after another.

Each caller moves money back and forth between its own two accounts; no caller touches another's. With ``gap`` 1
the callers' accounts are adjacent in creation order (neighbouring heap rows, one leaf page of the account-code
index); the reference run spreads them ``gap`` accounts apart. Both run on a cluster with PostgreSQL's default
predicate-lock settings, so the result holds for a default-configured server (docs/design.md: what a DBA sets).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from dualbook.calls import credit, debit
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.errors import DualbookError
from dualbook.ledger import Ledger
from dualbook.retry import RetryPolicy
from dualbook.testing import fresh_database

#: PostgreSQL 15's defaults (the embedded and test clusters raise the first two, for batches)
DEFAULT_PREDICATE_LOCKS = {
    "max_pred_locks_per_transaction": "64",
    "max_pred_locks_per_relation": "-2",
    "max_pred_locks_per_page": "2",
}
SPREAD_GAP = 50


@dataclass(frozen=True)
class ContentionRun:
    callers: int
    gap: int
    requests: int
    serialization_failures: int
    failed: int
    seconds: float


def adjacent_run(cluster: Cluster, callers: int, gap: int, per_caller: int = 40) -> ContentionRun:
    """``callers`` threads, each ``per_caller`` postings between its own two accounts, ``gap`` accounts apart."""
    url = roles.url_as(fresh_database(cluster, prefix="adj"), roles.APP)
    with Ledger.connect(url, max_size=callers + 1, retry=RetryPolicy(max_attempts=10)) as lg:
        for k in range(2 * callers * gap):
            lg.create_account(f"acct:{k:05d}", "USD", "liability")
        failed = [0]
        barrier = threading.Barrier(callers + 1)

        def caller(t: int) -> None:
            a, b = f"acct:{2 * t * gap:05d}", f"acct:{(2 * t + 1) * gap:05d}"
            barrier.wait()
            for i in range(per_caller):
                src, dst = (a, b) if i % 2 else (b, a)
                try:
                    lg.post_entry(f"t{t}:{i}", [debit(src, 5, "USD"), credit(dst, 5, "USD")])
                except DualbookError:
                    failed[0] += 1

        threads = [threading.Thread(target=caller, args=(t,), daemon=True) for t in range(callers)]
        for th in threads:
            th.start()
        barrier.wait()
        t0 = time.perf_counter()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        return ContentionRun(
            callers, gap, callers * per_caller, lg.stats.serialization_failures, failed[0], round(elapsed, 2)
        )
