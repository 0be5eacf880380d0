"""Point ``P1gs`` of `dualbook bench`: P1g again with a synchronous standby.

On the throwaway cluster: a streaming standby is made for the point (``pg_basebackup``, application_name
``dualbook_standby``), the primary's ``synchronous_standby_names`` names it (``synchronous_commit = on``: a COMMIT
returns once the standby has flushed the WAL), P1g's workload runs, and the standby is removed afterwards. Its ratio
is of P1g, measured minutes before in the same run: what the synchronous standby costs the write path. Both servers
share the machine, so the standby's CPU and fsyncs come out of the primary's: a standby on its own machine costs a
network round trip per group commit instead. With ``DATABASE_URL`` the point is skipped (configure your own standby
and compare P1g with and without it).
"""

from __future__ import annotations

import time

import psycopg

from dualbook.db.cluster import Cluster
from dualbook.db.replica import STANDBY_NAME
from dualbook.testing import throwaway_replica
from dualbook.tools.bench import callers
from dualbook.tools.bench.results import P1GS, Result


def _set_sync(cluster: Cluster, names: str | None) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        if names:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'")
        else:
            conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
        conn.execute("SELECT pg_reload_conf()")


def _streaming(cluster: Cluster) -> bool:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
            (STANDBY_NAME,),
        ).fetchone()
    return bool(row and row[0])


def sync_standby_points(runner: callers.Runner, cluster: Cluster | None) -> list[Result]:
    """P1gs (see the module's text); [] without the throwaway cluster."""
    if cluster is None:
        runner.progress(f"[{P1GS}] skipped: it needs the throwaway cluster (unset DATABASE_URL)")
        return []
    runner.progress(f"[{P1GS}] making a synchronous standby of the throwaway cluster (pg_basebackup) ...")
    with throwaway_replica(cluster):
        deadline = time.monotonic() + 60
        while not _streaming(cluster):
            if time.monotonic() > deadline:
                raise RuntimeError("the standby made for P1gs did not start streaming")
            time.sleep(0.1)
        _set_sync(cluster, STANDBY_NAME)
        try:
            r = callers.grouped_point(runner, P1GS, "uniform")
        finally:
            _set_sync(cluster, None)
    r.title = "grouped adapter, uniform, synchronous standby (same machine)"
    return [r]
