"""Bounded, jittered exponential backoff for SERIALIZABLE transactions.

Retried: 40001 serialization_failure, 40P01 deadlock_detected, and a lost connection (class 08, 57P01-57P03, or
an OperationalError without SQLSTATE, e.g. the server closed the connection while COMMIT was in flight). Retrying
a lost connection is safe only because every ledger write is idempotent by key: a replay of a request that did
commit returns the original entry and writes nothing.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import psycopg

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
CONNECTION_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a write is retried."""

    max_attempts: int = 10
    base_delay: float = 0.002
    max_delay: float = 0.25

    def delay(self, attempt: int) -> float:
        """Full-jitter backoff before attempt number `attempt + 1` (attempt counts from 1)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, cap)


def is_serialization_failure(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.Error) and exc.sqlstate in RETRYABLE_SQLSTATES


def is_connection_loss(exc: BaseException) -> bool:
    """True for a dropped/refused connection, where the transaction's outcome may be unknown."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in CONNECTION_SQLSTATES


@dataclass
class RetryStats:
    """Counters across all calls of one client (thread-safe)."""

    calls: int = 0
    attempts: int = 0
    serialization_failures: int = 0
    connection_losses: int = 0
    gave_up: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def record(self, attempts: int, serialization: int = 0, lost: int = 0, gave_up: int = 0) -> None:
        with self._lock:
            self.calls += 1
            self.attempts += attempts
            self.serialization_failures += serialization
            self.connection_losses += lost
            self.gave_up += gave_up

    @property
    def retries(self) -> int:
        return self.attempts - self.calls


class Attempts:
    """The bookkeeping of one retried unit of work, shared by the sync and async clients::

    attempts = Attempts(policy, stats)
    while True:
        attempts.next()
        try:
            ...  # one transaction
            attempts.done()
            return ...
        except psycopg.Error as exc:
            time.sleep(attempts.backoff_or_raise(exc))
    """

    def __init__(self, policy: RetryPolicy, stats: RetryStats | None = None, *, retry_lost: bool = True) -> None:
        self.policy = policy
        self.stats = stats
        self.retry_lost = retry_lost
        self.n = 0
        self.lost = 0
        self.serialization = 0

    def next(self) -> int:
        self.n += 1
        return self.n

    def done(self, gave_up: int = 0) -> None:
        if self.stats is not None:
            self.stats.record(self.n, self.serialization, self.lost, gave_up)

    def backoff_or_raise(self, exc: psycopg.Error) -> float:
        """The delay before the next attempt; raises the mapped error when exc is final or tries are used up."""
        from dualbook.calls import map_error
        from dualbook.errors import RetriesExhausted

        if is_serialization_failure(exc):
            self.serialization += 1
        elif self.retry_lost and is_connection_loss(exc):
            self.lost += 1
        else:
            self.done()
            raise map_error(exc) from exc
        if self.n >= self.policy.max_attempts:
            self.done(gave_up=1)
            raise RetriesExhausted(
                f"gave up after {self.n} attempts: {' '.join(str(exc).split())}", sqlstate=exc.sqlstate, cause=exc
            ) from exc
        return self.policy.delay(self.n)
