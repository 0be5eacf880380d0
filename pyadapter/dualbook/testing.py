"""Throwaway PostgreSQL clusters for tests and benchmarks, and the pgTAP runner.

Every test session gets its own cluster in a temporary directory on its own port and socket, so tests never
touch a running demo cluster or the machine's default port. The ledger is deployed once (with Sqitch) into a
template database; each test that needs a fresh ledger gets ``CREATE DATABASE ... TEMPLATE`` (fast).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from dualbook import migrate
from dualbook.cluster import SUPERUSER, Cluster
from dualbook.config import project_root

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


def run_pgtap(cluster: Cluster, paths: list[str]) -> int:
    """Deploy into a fresh database, install pgTAP there, run pg_prove over paths; returns its exit code."""
    url = fresh_database(cluster, prefix="pgtap")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgtap")
    dbname = url.rsplit("/", 1)[1]
    cmd = [
        "pg_prove",
        "--host",
        str(cluster.socket_dir),
        "--port",
        str(cluster.port),
        "--username",
        SUPERUSER,
        "--dbname",
        dbname,
        "--ext",
        ".sql",
        "--recurse",
        "--failures",
        *paths,
    ]
    return subprocess.run(cmd).returncode


def _checkout_of(paths: list[str]) -> Path | None:
    """The directory holding sqitch.plan above the first test path, if any."""
    for path in paths[:1]:
        for d in [Path(path).resolve(), *Path(path).resolve().parents]:
            if (d / "sqitch.plan").exists():
                return d
    return None


def _main() -> int:
    parser = argparse.ArgumentParser(prog="python -m dualbook.testing")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pgtap", help="run the pgTAP suite on a throwaway cluster")
    p.add_argument("paths", nargs="*", default=["tests/pgtap"])
    args = parser.parse_args()
    if args.cmd == "pgtap":
        # Deploy the schema of the checkout the test files belong to, not that of the checkout the imported
        # package happens to live in (a virtualenv shared between worktrees): the two must be the same commit.
        root = _checkout_of(args.paths)
        if root is not None and not os.environ.get("DUALBOOK_PROJECT_DIR"):
            os.environ["DUALBOOK_PROJECT_DIR"] = str(root)
        print(f"pgtap: deploying the schema of {project_root()}", file=sys.stderr)
        with throwaway_cluster() as cluster:
            deploy_template(cluster)
            return run_pgtap(cluster, args.paths)
    return 2


if __name__ == "__main__":
    sys.exit(_main())
