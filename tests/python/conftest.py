"""Test fixtures: one throwaway PostgreSQL cluster per test session, a deployed template database, and a
fresh database cloned from it for each test that asks. No mocks of the database, ever.

``db_url`` connects as the cluster's superuser (for set-up and tampering); ``app_url``, ``reader_url``,
``sequencer_url`` and ``auditor_url`` are the same database as the roles the clients use in production
(docs/security.md; the cluster trusts loopback connections, so no password)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import dualbook
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.db.migrate import migrations_dir
from dualbook.testing import (
    ReplicaPair,
    deploy_template,
    drop_database,
    fresh_database,
    throwaway_cluster,
    throwaway_replica_pair,
)

ROOT = Path(__file__).resolve().parents[2]
# Child processes (the client-kill drill's clients, `python -m dualbook.cli`) import this checkout's package too.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "pyadapter"), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    # The schema deployed is the one shipped with the imported package: it must be this checkout's (a virtualenv
    # shared between worktrees may import another worktree's package; pyproject's pytest ``pythonpath`` puts this
    # checkout's first).
    plan = (migrations_dir() / "sqitch.plan").resolve()
    assert plan == ROOT / "sqitch.plan", (
        f"the tests of {ROOT} would deploy {plan} (dualbook imported from {Path(dualbook.__file__).parent}): "
        f"run pytest from this checkout, or set PYTHONPATH={ROOT / 'pyadapter'}"
    )
    with throwaway_cluster() as c:
        deploy_template(c)
        yield c


@pytest.fixture
def db_url(cluster: Cluster) -> Iterator[str]:
    """A freshly deployed ledger database (cloned from the template), dropped afterwards."""
    url = fresh_database(cluster)
    yield url
    drop_database(cluster, url)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def app_url(db_url: str) -> str:
    return roles.url_as(db_url, roles.APP)


@pytest.fixture
def reader_url(db_url: str) -> str:
    return roles.url_as(db_url, roles.READER)


@pytest.fixture
def sequencer_url(db_url: str) -> str:
    return roles.url_as(db_url, roles.SEQUENCER)


@pytest.fixture
def auditor_url(db_url: str) -> str:
    return roles.url_as(db_url, roles.AUDITOR)


@pytest.fixture
def role_env(db_url: str, app_url: str, reader_url: str, sequencer_url: str, auditor_url: str) -> dict[str, str]:
    """The environment of a production-like deployment: each client its own role's URL."""
    return {
        "DATABASE_URL": app_url,
        "DUALBOOK_MIGRATOR_URL": db_url,
        "DUALBOOK_READER_URL": reader_url,
        "DUALBOOK_SEQUENCER_URL": sequencer_url,
        "DUALBOOK_AUDITOR_URL": auditor_url,
    }


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[ReplicaPair]:
    """A second session cluster (template deployed) with a real streaming hot standby, each on its own port."""
    with throwaway_replica_pair() as pair:
        yield pair


@pytest.fixture
def replica_urls(replica_pair: ReplicaPair) -> Iterator[tuple[str, str]]:
    """A fresh ledger database on the pair's primary and the same on the replica (superuser URLs)."""
    url, replica_url = replica_pair.fresh_database()
    yield url, replica_url
    replica_pair.drop_database(url)


#: the fuzz test's counters (tests/python/test_fuzz.py), printed in the summary
FUZZ_STATS = pytest.StashKey[dict[str, int]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    stats = config.stash.get(FUZZ_STATS, None)
    if not stats:
        return
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.items()) if not k.startswith("calls"))
    per_function = ", ".join(f"{k[6:]} {v}" for k, v in sorted(stats.items()) if k.startswith("calls "))
    terminalreporter.write_line(
        f"fuzz: {stats.get('calls', 0)} calls of the SQL API as dualbook_app "
        "(the sequencer's, the auditor's and the migrator's functions as those roles)"
    )
    terminalreporter.write_line(f"fuzz: per function: {per_function}")
    terminalreporter.write_line(f"fuzz: outcomes: {outcomes}")
