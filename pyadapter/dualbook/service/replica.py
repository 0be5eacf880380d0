"""The service's read target, seen from operations: its replay lag (``/metrics``) and whether it answers
(``/readyz``). An unreachable read target does not make the service unready: writes still go to the primary,
and reads answer 503 ``replica_unavailable`` with ``Retry-After`` until it is back (docs/service.md)."""

from __future__ import annotations

import asyncio
from typing import Literal

import psycopg
from psycopg_pool import PoolTimeout

from dualbook import reads
from dualbook.aio import AsyncLedger
from dualbook.service import metrics


async def lag(ledger: AsyncLedger, wait: float) -> reads.Lag | None:
    """The read target's lag behind the primary now (None: no read target, or it cannot be reached in ``wait``
    seconds)."""
    if ledger.read_pool is None:
        return None
    try:
        async with asyncio.timeout(wait):
            primary = (await ledger.execute(reads.primary_position_call()))[0]
            async with ledger.read_pool.connection(timeout=wait) as conn:
                position = await reads.areplica_position(conn, primary)
    except (TimeoutError, PoolTimeout, psycopg.Error):
        return None
    return reads.replay_lag(position, primary)


async def observe(ledger: AsyncLedger, wait: float) -> Literal["none", "reachable", "unreachable"]:
    """Update the replica gauges; the read target's state: ``none``, ``reachable`` or ``unreachable``."""
    if ledger.read_pool is None:
        return "none"
    found = await lag(ledger, wait)
    metrics.REPLICA_UP.labels("read").set(0 if found is None else 1)
    if found is None:
        return "unreachable"
    if found.bytes is not None:
        metrics.REPLICA_LAG_BYTES.labels("read").set(found.bytes)
    if found.seconds is not None:
        metrics.REPLICA_LAG_SECONDS.labels("read").set(found.seconds)
    return "reachable"
