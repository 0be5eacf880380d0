"""How long the certification suite runs: the CI profile (``make test``) or the certify profile
(``DUALBOOK_CERTIFY=1``, ``make certify``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    #: the model-based test runs hypothesis rounds until at least this many write transactions were made
    model_transactions: int
    #: hypothesis: steps per example and examples per round
    model_steps: int
    model_examples: int
    contention_threads: int
    contention_transfers: int  # per thread
    crash_cycles: int
    crash_clients: int
    client_kills: int
    torn_commits: int
    grouped_cycles: int
    grouped_callers: int
    #: the failover drill: primary killed and the standby promoted this many times, alternating the two nodes
    failover_cycles: int
    failover_callers: int
    #: holds under contention: callers, and operations (hold, capture, void, expire, post) per caller
    holds_callers: int
    holds_ops: int


CI = Profile(
    name="ci",
    model_transactions=10_000,
    model_steps=120,
    model_examples=10,
    contention_threads=16,
    contention_transfers=120,
    crash_cycles=3,
    crash_clients=6,
    client_kills=8,
    torn_commits=20,
    grouped_cycles=4,
    grouped_callers=16,
    failover_cycles=2,
    failover_callers=6,
    holds_callers=12,
    holds_ops=60,
)

CERTIFY = Profile(
    name="certify",
    model_transactions=100_000,
    model_steps=200,
    model_examples=20,
    contention_threads=32,
    contention_transfers=600,
    crash_cycles=20,
    crash_clients=12,
    client_kills=40,
    torn_commits=200,
    grouped_cycles=20,
    grouped_callers=32,
    failover_cycles=20,
    failover_callers=16,
    holds_callers=24,
    holds_ops=400,
)

PROFILE = CERTIFY if os.environ.get("DUALBOOK_CERTIFY", "") not in ("", "0") else CI
if os.environ.get("DUALBOOK_MODEL_TRANSACTIONS"):  # a quicker (or longer) model-based run while developing
    PROFILE = replace(PROFILE, model_transactions=int(os.environ["DUALBOOK_MODEL_TRANSACTIONS"]))
