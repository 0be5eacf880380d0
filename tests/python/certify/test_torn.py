"""Torn input: the adapter's connection is dropped right after the statement that commits reached the server (the
adapter's calls are single autocommit statements, so the call itself) and before its answer came back
(tests/python/faults.py, a real TCP proxy). The outcome is unknown to the client; the adapter retries with the
same key, and every posting ends exactly once: a replay of the committed entry, reported as recovered."""

from __future__ import annotations

import random

from dualbook import Ledger, credit, debit
from dualbook.db.cluster import Cluster
from dualbook.tools.certify import AckRecord, Certification

from ..faults import CommitDroppingProxy
from .profile import PROFILE


def test_torn_commit(cluster: Cluster, db_url: str, certification: Certification) -> None:
    n = PROFILE.torn_commits
    rnd = random.Random(5)
    acks: dict[str, AckRecord] = {}
    assert cluster.port is not None
    with certification.scenario(f"torn input ({n} answers to a committing call dropped)") as row:
        proxy = CommitDroppingProxy(cluster.port, on="statement")
        try:
            with Ledger.connect(proxy.url(db_url.rsplit("/", 1)[1]), max_size=2) as lg:
                lg.create_account("bank", "USD", "asset")
                lg.create_account("wallet", "USD", "liability", lower_limit=0)
                for i in range(2 * n):
                    torn = i % 2 == 0  # every other posting loses its COMMIT answer
                    legs = [debit("bank", rnd.randint(1, 999), "USD")]
                    legs.append(credit("wallet", legs[0].amount, "USD"))
                    dropped = proxy.dropped
                    if torn:
                        proxy.armed.set()
                    r = lg.post_entry(f"torn:{i}", legs)
                    if torn:
                        assert proxy.dropped == dropped + 1, "the proxy did not drop the answer"
                        assert r.recovered and not r.created and r.attempts == 2, r
                        row.faults += 1
                        row.add("recovered by replay")
                    else:
                        assert r.created and not r.recovered, r
                    acks[f"torn:{i}"] = AckRecord.of(r, legs)
                row.transactions = lg.stats.attempts
        finally:
            proxy.close()
        row.verify(db_url, acks, complete=True, where="torn input")
