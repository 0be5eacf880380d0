"""Throwaway PostgreSQL clusters for tests and benchmarks (and, through :mod:`dualbook.testing.plugin`, for the
tests of an application that uses dualbook).

Every test session gets its own cluster in a temporary directory on its own port and socket, so tests never
touch a running demo cluster or the machine's default port. The ledger is deployed once (with Sqitch) into a
template database; each test that needs a fresh ledger gets ``CREATE DATABASE ... TEMPLATE`` (fast).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from dualbook.db import migrate
from dualbook.db.cluster import Cluster
from dualbook.db.replica import Replica
from dualbook.reads import primary_position, replay_lag, replica_position

TEMPLATE_DB = "dualbook_template"
_counter = itertools.count()


def _tmp_base() -> Path:
    # As root the server runs as 'postgres', which must reach the directory: /tmp is world-searchable.
    return Path(os.environ.get("DUALBOOK_TEST_TMPDIR", tempfile.gettempdir()))


@contextlib.contextmanager
def throwaway_cluster(settings: dict[str, str] | None = None, keep: bool = False) -> Iterator[Cluster]:
    """A fresh cluster in a temp directory, started; stopped and removed afterwards (unless keep)."""
    base = Path(tempfile.mkdtemp(prefix="dualbook-test-", dir=_tmp_base()))
    os.chmod(base, 0o755)
    cluster = Cluster(base / "pgdata", settings=settings)
    try:
        cluster.start()
        yield cluster
    finally:
        if keep:
            print(f"kept test cluster at {cluster.datadir}", file=sys.stderr)
        else:
            cluster.destroy()
            shutil.rmtree(base, ignore_errors=True)


def deploy_template(cluster: Cluster) -> str:
    """Create the template database and deploy every Sqitch change into it; returns its URL."""
    cluster.create_database(TEMPLATE_DB)
    url = cluster.url(TEMPLATE_DB)
    migrate.deploy(url, capture=True)
    return url


def fresh_database(cluster: Cluster, prefix: str = "t") -> str:
    """A new database cloned from the deployed template; returns its URL."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TEMPLATE_DB))
        )
    return cluster.url(name)


def drop_database(cluster: Cluster, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def throwaway_replica(primary: Cluster) -> Iterator[Replica]:
    """A streaming hot standby of a running throwaway ``primary``, in a directory next to the primary's, on its
    own port; stopped and removed (its slot dropped) afterwards. Create it after the template is deployed: the
    databases made later on the primary reach it by replication (see :func:`wait_for_replay`)."""
    replica = Replica.of(primary, primary.datadir.parent / "replica")
    try:
        replica.start()
        yield replica
    finally:
        replica.destroy()


def wait_for_replay(primary: Cluster, replica: Cluster, timeout: float = 60.0) -> None:
    """Wait until ``replica`` has replayed everything ``primary`` has flushed now (AssertionError after
    ``timeout`` seconds)."""
    with (
        psycopg.connect(primary.url("postgres"), autocommit=True) as p,
        psycopg.connect(replica.url("postgres"), autocommit=True) as r,
    ):
        target = primary_position(p)
        deadline = time.monotonic() + timeout
        while True:
            lag = replay_lag(replica_position(r, target), target)
            if lag.bytes == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica did not replay up to {target} within {timeout:g} s: {lag}")
            time.sleep(0.01)


@dataclass(frozen=True)
class ReplicaPair:
    """A throwaway primary with the ledger's template deployed, and its streaming hot standby."""

    primary: Cluster
    replica: Replica

    def on_replica(self, url: str) -> str:
        """The same database (and user) on the replica."""
        return url.replace(f"@127.0.0.1:{self.primary.port}/", f"@127.0.0.1:{self.replica.port}/", 1)

    def fresh_database(self, prefix: str = "r") -> tuple[str, str]:
        """A new ledger database on the primary, once the replica has it: (primary URL, replica URL)."""
        url = fresh_database(self.primary, prefix)
        wait_for_replay(self.primary, self.replica)
        return url, self.on_replica(url)

    def drop_database(self, url: str) -> None:
        drop_database(self.primary, url)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait until the replica has replayed everything the primary has flushed."""
        wait_for_replay(self.primary, self.replica, timeout)


@contextlib.contextmanager
def throwaway_replica_pair() -> Iterator[ReplicaPair]:
    """A primary (template deployed) and a streaming replica of it, each in a temp directory on its own port;
    both stopped and removed afterwards."""
    with throwaway_cluster() as primary:
        deploy_template(primary)
        with throwaway_replica(primary) as replica:
            yield ReplicaPair(primary, replica)
