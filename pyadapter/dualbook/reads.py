"""The read path: where a read runs, what snapshot it reads, and how fresh that snapshot must be.

A client with a read target (``Ledger.connect(url, read_url=...)``, usually a streaming replica) runs its reads
and reports there, each in a ``REPEATABLE READ READ ONLY`` transaction (a hot standby refuses SERIALIZABLE); without
one they run on the primary in ``SERIALIZABLE READ ONLY DEFERRABLE``. Every read returns, next to its result, a
:class:`~dualbook.results.Snapshot`: the WAL position it reflects, which server answered, and when.

Freshness is one rule, :class:`ReadPolicy`, checked before the snapshot is taken:

* *read-your-writes* (the default): the primary's flushed WAL position is read at read time — every commit the
  caller saw acknowledged lies at or before it — and the read waits until the replica has replayed past it;
* a *staleness bound* (``max_lag`` seconds, ``max_lag_bytes``): the replica's lag behind the primary at read time;
* both wait at most ``timeout`` seconds, then raise :class:`~dualbook.errors.ReplicaLagging` (or read the primary,
  with ``fallback=True``); a replica that cannot be reached raises :class:`~dualbook.errors.ReplicaUnavailable`
  (or falls back likewise). A stale answer is never returned as a fresh one.

The position is read *before* the snapshot is taken, so a snapshot holds at least every transaction committed
at or before its ``lsn`` (on a standby, replay only moves forward).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
import psycopg.conninfo
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from dualbook import errors
from dualbook.calls import Call, afetch_rows, fetch_rows
from dualbook.results import Snapshot
from dualbook.retry import Attempts, RetryPolicy, RetryStats

T = TypeVar("T")

#: the primary's WAL position that every acknowledged commit has reached (synchronous_commit flushes before the
#: commit returns)
PRIMARY_POSITION = "SELECT pg_current_wal_flush_lsn()::text"

_LSN = "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END"

#: a read target's position: on a standby what it has replayed, on a primary what it has flushed; and how far
#: that is behind a given primary position (NULL when none is given)
TARGET_POSITION = (
    f"SELECT pg_is_in_recovery(), ({_LSN})::text, "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_xact_replay_timestamp() ELSE clock_timestamp() END, "
    f"clock_timestamp(), pg_wal_lsn_diff(%s::pg_lsn, {_LSN})::bigint"
)

READ_ONLY_OPTION = "-c default_transaction_read_only=on -c default_transaction_isolation=repeatable\\ read"


def read_conninfo(url: str) -> str:
    """``url`` with read-only, REPEATABLE READ sessions as its startup options (the URL's own options are kept)."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    options = str(params.get("options") or "").strip()
    params["options"] = f"{options} {READ_ONLY_OPTION}".strip()
    return psycopg.conninfo.make_conninfo("", **params)


@dataclass(frozen=True)
class ReadPolicy:
    """How fresh a read on the read target must be (see the module's text).

    ``read_your_writes``: wait until the replica has replayed the primary's position at read time (one query on
    the primary per read, none on the write path). ``max_lag`` / ``max_lag_bytes``: the most the replica may be
    behind the primary, in seconds / bytes of WAL. ``timeout``: how long a read waits for the replica to get
    there (and for a connection to it). ``fallback``: read the primary instead of raising when the replica is
    lagging or unreachable (the snapshot then says ``source="primary"``)."""

    read_your_writes: bool = True
    max_lag: float | None = None
    max_lag_bytes: int | None = None
    timeout: float = 5.0
    poll: float = 0.005
    fallback: bool = False

    def __post_init__(self) -> None:
        if self.timeout < 0 or self.poll <= 0:
            raise ValueError("timeout must be >= 0 and poll > 0")
        if (self.max_lag is not None and self.max_lag < 0) or (
            self.max_lag_bytes is not None and self.max_lag_bytes < 0
        ):
            raise ValueError("max_lag and max_lag_bytes must be >= 0")

    @property
    def needs_primary(self) -> bool:
        """Whether a read must learn the primary's position first."""
        return self.read_your_writes or self.max_lag is not None or self.max_lag_bytes is not None

    def accepts(self, lag: Lag) -> bool:
        if lag.bytes is None:
            return not self.needs_primary
        if self.read_your_writes and lag.bytes > 0:
            return False
        if self.max_lag_bytes is not None and lag.bytes > self.max_lag_bytes:
            return False
        return self.max_lag is None or (lag.seconds is not None and lag.seconds <= self.max_lag)


@dataclass(frozen=True)
class Position:
    """A read target's position, read just before a snapshot is taken."""

    standby: bool
    lsn: str
    at: datetime | None  # on a standby the commit time of the last replayed transaction; else the time read
    now: datetime
    behind: int | None  # bytes of WAL between it and the primary position asked about (None: none asked)

    def snapshot(self) -> Snapshot:
        return Snapshot(lsn=self.lsn, source="replica" if self.standby else "primary", at=self.at)


@dataclass(frozen=True)
class Lag:
    """How far a replica is behind the primary: ``bytes`` of WAL the primary has flushed and the replica has not
    replayed, and ``seconds`` since the last commit it replayed (0 when nothing is missing; None when unknown:
    nothing replayed yet). Both None when the primary's position was not read."""

    bytes: int | None
    seconds: float | None
    primary_lsn: str | None
    replay_lsn: str


def replay_lag(position: Position, primary_lsn: str | None = None) -> Lag:
    """The lag of a position measured against a primary position (the one definition of lag)."""
    if position.behind is None:
        return Lag(None, None, primary_lsn, position.lsn)
    behind = max(0, position.behind)
    if behind == 0:
        seconds: float | None = 0.0
    elif position.at is None:
        seconds = None
    else:
        seconds = max(0.0, (position.now - position.at).total_seconds())
    return Lag(behind, seconds, primary_lsn, position.lsn)


def primary_position(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(PRIMARY_POSITION).fetchone()
    assert row is not None
    return str(row[0])


def _position(row: tuple[Any, ...] | None) -> Position:
    assert row is not None
    return Position(standby=bool(row[0]), lsn=str(row[1]), at=row[2], now=row[3], behind=row[4])


def replica_position(conn: psycopg.Connection[Any], target: str | None) -> Position:
    """The read target's position (autocommit, outside the read's transaction), behind ``target``."""
    return _position(conn.execute(TARGET_POSITION, (target,)).fetchone())


async def areplica_position(conn: psycopg.AsyncConnection[Any], target: str | None) -> Position:
    cur = await conn.execute(TARGET_POSITION, (target,))
    return _position(await cur.fetchone())


def lagging(policy: ReadPolicy, lag: Lag, waited: float) -> errors.ReplicaLagging:
    """The exception for a replica that stayed behind the policy's bound for ``waited`` seconds."""
    seconds = "unknown" if lag.seconds is None else f"{lag.seconds:.3f} s"
    wanted = []
    if policy.read_your_writes:
        wanted.append(f"replayed up to {lag.primary_lsn}")
    if policy.max_lag is not None:
        wanted.append(f"at most {policy.max_lag:g} s behind")
    if policy.max_lag_bytes is not None:
        wanted.append(f"at most {policy.max_lag_bytes} bytes behind")
    return errors.ReplicaLagging(
        f"the replica is {lag.bytes} bytes and {seconds} behind the primary after waiting {waited:.3f} s "
        f"(wanted: {', '.join(wanted)})",
        context={
            "lag_bytes": lag.bytes,
            "lag_seconds": lag.seconds,
            "primary_lsn": lag.primary_lsn,
            "replay_lsn": lag.replay_lsn,
            "waited": waited,
        },
        hint="the replica replays slower than the primary writes, or its replay is paused; read the primary "
        "(ReadPolicy(fallback=True)) or wait longer (ReadPolicy(timeout=...))",
    )


def unavailable(exc: BaseException) -> errors.ReplicaUnavailable:
    cause = " ".join(str(exc).split()) or type(exc).__name__
    return errors.ReplicaUnavailable(
        f"cannot read the replica: {cause}",
        hint="is the replica running ('dualbook db status')? ReadPolicy(fallback=True) reads the primary instead",
        cause=exc,
    )


def is_unreachable(exc: BaseException) -> bool:
    """A replica connection that could not be made, or was lost (the read never started or is void)."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


def primary_position_call() -> Call[str]:
    """The primary's flushed WAL position, as a call a client runs on its primary pool."""
    return Call(PRIMARY_POSITION, (), lambda rows: str(rows[0][0]), write=False)


# --- the read path of the clients (Ledger.read, AsyncLedger.read) -----------------------------------------------
def read_primary(pool: ConnectionPool, call: Call[T], retry: RetryPolicy, stats: RetryStats) -> tuple[T, Snapshot]:
    """A read on the primary: its flushed position first, then the call in a SERIALIZABLE READ ONLY DEFERRABLE
    transaction (it waits, if need be, for a snapshot no concurrent writer can make inconsistent, and then can never
    fail with a serialization error nor make a writer fail). Lost connections are retried."""
    attempts = Attempts(retry, stats)
    while True:
        attempts.next()
        try:
            with pool.connection() as c:
                position = replica_position(c, None)
                if not c.autocommit:
                    c.commit()
                c.read_only, c.deferrable = True, True
                try:
                    with c.transaction():
                        rows = fetch_rows(c, call)
                finally:
                    if not c.closed:
                        c.read_only, c.deferrable = None, None
            attempts.done()
            return call.parse(rows), position.snapshot()
        except psycopg.Error as exc:
            time.sleep(attempts.backoff_or_raise(exc))


def read_replica(
    pool: ConnectionPool,
    call: Call[T],
    policy: ReadPolicy,
    primary: Callable[[], str],
    retry: RetryPolicy,
    stats: RetryStats,
) -> tuple[T, Snapshot]:
    """A read on the read target: wait (bounded) until its position satisfies ``policy`` (``primary()`` gives the
    primary's position when the policy needs it), then the call in one REPEATABLE READ READ ONLY transaction."""
    start = time.monotonic()
    deadline = start + policy.timeout
    target = primary() if policy.needs_primary else None
    attempts = Attempts(retry, stats)
    while True:
        attempts.next()
        try:
            with pool.connection() as c:
                while True:
                    position = replica_position(c, target)
                    lag = replay_lag(position, target)
                    if policy.accepts(lag):
                        break
                    if time.monotonic() >= deadline:
                        raise lagging(policy, lag, time.monotonic() - start)
                    time.sleep(policy.poll)
                with c.transaction():
                    rows = fetch_rows(c, call)
            attempts.done()
            return call.parse(rows), position.snapshot()
        except PoolTimeout as exc:
            raise unavailable(exc) from exc
        except psycopg.Error as exc:
            if is_unreachable(exc):
                # the replica went away (shut down, restarted, network): try again until the policy's timeout,
                # then say so -- whichever way the loss showed itself (a closed socket, 57P01, ...)
                now = time.monotonic()
                if now >= deadline:
                    raise unavailable(exc) from exc
                time.sleep(min(0.05, deadline - now))
                continue
            time.sleep(attempts.backoff_or_raise(exc))


async def aread_primary(
    pool: AsyncConnectionPool, call: Call[T], retry: RetryPolicy, stats: RetryStats
) -> tuple[T, Snapshot]:
    """:func:`read_primary` on an async pool."""
    attempts = Attempts(retry, stats)
    while True:
        attempts.next()
        try:
            async with pool.connection() as c:
                position = await areplica_position(c, None)
                if not c.autocommit:
                    await c.commit()
                await c.set_read_only(True)
                await c.set_deferrable(True)
                try:
                    async with c.transaction():
                        rows = await afetch_rows(c, call)
                finally:
                    if not c.closed:
                        await c.set_read_only(None)
                        await c.set_deferrable(None)
            attempts.done()
            return call.parse(rows), position.snapshot()
        except psycopg.Error as exc:
            await asyncio.sleep(attempts.backoff_or_raise(exc))


async def aread_replica(
    pool: AsyncConnectionPool,
    call: Call[T],
    policy: ReadPolicy,
    primary: Callable[[], Awaitable[str]],
    retry: RetryPolicy,
    stats: RetryStats,
) -> tuple[T, Snapshot]:
    """:func:`read_replica` on an async pool."""
    start = time.monotonic()
    deadline = start + policy.timeout
    target = await primary() if policy.needs_primary else None
    attempts = Attempts(retry, stats)
    while True:
        attempts.next()
        try:
            async with pool.connection() as c:
                while True:
                    position = await areplica_position(c, target)
                    lag = replay_lag(position, target)
                    if policy.accepts(lag):
                        break
                    if time.monotonic() >= deadline:
                        raise lagging(policy, lag, time.monotonic() - start)
                    await asyncio.sleep(policy.poll)
                async with c.transaction():
                    rows = await afetch_rows(c, call)
            attempts.done()
            return call.parse(rows), position.snapshot()
        except PoolTimeout as exc:
            raise unavailable(exc) from exc
        except psycopg.Error as exc:
            if is_unreachable(exc):
                # the replica went away (shut down, restarted, network): try again until the policy's timeout,
                # then say so -- whichever way the loss showed itself (a closed socket, 57P01, ...)
                now = time.monotonic()
                if now >= deadline:
                    raise unavailable(exc) from exc
                await asyncio.sleep(min(0.05, deadline - now))
                continue
            await asyncio.sleep(attempts.backoff_or_raise(exc))
