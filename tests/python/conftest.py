"""Test fixtures: one throwaway PostgreSQL cluster per test session, a deployed template database, and a
fresh database cloned from it for each test that asks. No mocks of the database, ever."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dualbook.cluster import Cluster
from dualbook.testing import deploy_template, drop_database, fresh_database, throwaway_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
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
