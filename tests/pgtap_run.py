"""Run the pgTAP suite on a throwaway cluster: ``python tests/pgtap_run.py [PATH ...]`` (``make pgtap``).

Deploys the Sqitch plan of the package it imports into a fresh database, installs pgTAP there and runs
``pg_prove`` over the paths (default ``tests/pgtap``). The Makefile puts this checkout's ``pyadapter`` first on
``PYTHONPATH``, so the schema tested is this checkout's; the runner refuses to run otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import psycopg

from dualbook.db.cluster import SUPERUSER, Cluster
from dualbook.db.migrate import migrations_dir
from dualbook.testing import deploy_template, fresh_database, throwaway_cluster

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> int:
    parser = argparse.ArgumentParser(prog="python tests/pgtap_run.py", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "tests" / "pgtap")])
    args = parser.parse_args()
    plan = (migrations_dir() / "sqitch.plan").resolve()
    if plan != ROOT / "sqitch.plan":
        print(f"pgtap: the imported package deploys {plan}, not this checkout's: set PYTHONPATH={ROOT / 'pyadapter'}")
        return 2
    print(f"pgtap: deploying {plan}", file=sys.stderr)
    with throwaway_cluster() as cluster:
        deploy_template(cluster)
        return run_pgtap(cluster, args.paths)


if __name__ == "__main__":
    sys.exit(main())
