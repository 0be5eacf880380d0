"""A pytest plugin for the tests of an application that uses dualbook: a real, throwaway ledger per test.

Installed with ``pip install dualbook[test]`` (it registers itself through the ``pytest11`` entry point), it gives
every test session one PostgreSQL cluster of its own in a temporary directory (the server binaries of the machine:
``postgresql-15`` or newer, and ``sqitch``), deploys the ledger into a template database once, and gives each test
that asks a fresh database cloned from it:

* ``dualbook_cluster`` -- the session's :class:`~dualbook.db.cluster.Cluster` (started, with the template);
* ``dualbook_url`` -- a freshly deployed ledger database as its superuser (set-up: books, currencies);
* ``dualbook_app_url`` / ``dualbook_reader_url`` -- the same database as the application and the reader roles;
* ``dualbook_ledger`` -- a :class:`~dualbook.Ledger` on it as the application role, closed afterwards;
* ``dualbook_replica_pair`` -- a second session cluster with a streaming hot standby of it
  (:class:`~dualbook.testing.ReplicaPair`), started on first use;
* ``dualbook_replica_urls`` -- a fresh ledger database on that primary and the same on its replica (superuser
  URLs, ``(primary, replica)``), once the replica has it.

Example (``from dualbook import credit, debit``)::

    def test_payment_moves_money(dualbook_ledger):
        dualbook_ledger.create_account("bank", "USD", "asset")
        dualbook_ledger.create_account("wallet:1", "USD", "liability", lower_limit=0)
        dualbook_ledger.post_entry("topup:1", [debit("bank", 500, "USD"), credit("wallet:1", 500, "USD")])
        assert dualbook_ledger.get_balance("wallet:1").balance == 500

Nothing here mocks the database: the fixtures start a real server, as dualbook's own tests do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.ledger import Ledger
from dualbook.testing import (
    ReplicaPair,
    deploy_template,
    drop_database,
    fresh_database,
    throwaway_cluster,
    throwaway_replica_pair,
)


@pytest.fixture(scope="session")
def dualbook_cluster() -> Iterator[Cluster]:
    """One throwaway cluster for the session, with the ledger deployed into its template database."""
    with throwaway_cluster() as cluster:
        deploy_template(cluster)
        yield cluster


@pytest.fixture
def dualbook_url(dualbook_cluster: Cluster) -> Iterator[str]:
    """A fresh ledger database (cloned from the deployed template) as the superuser; dropped afterwards."""
    url = fresh_database(dualbook_cluster, prefix="app")
    yield url
    drop_database(dualbook_cluster, url)


@pytest.fixture
def dualbook_app_url(dualbook_url: str) -> str:
    """The fresh ledger database as the application role (``dualbook_app``)."""
    return roles.url_as(dualbook_url, roles.APP)


@pytest.fixture
def dualbook_reader_url(dualbook_url: str) -> str:
    """The fresh ledger database as the reader role (``dualbook_reader``)."""
    return roles.url_as(dualbook_url, roles.READER)


@pytest.fixture
def dualbook_ledger(dualbook_app_url: str) -> Iterator[Ledger]:
    """A :class:`~dualbook.Ledger` on the fresh database as the application role."""
    with Ledger.connect(dualbook_app_url, max_size=2) as ledger:
        yield ledger


@pytest.fixture(scope="session")
def dualbook_replica_pair() -> Iterator[ReplicaPair]:
    """A throwaway primary with the ledger's template and a streaming replica of it, for the session."""
    with throwaway_replica_pair() as pair:
        yield pair


@pytest.fixture
def dualbook_replica_urls(dualbook_replica_pair: ReplicaPair) -> Iterator[tuple[str, str]]:
    """A fresh ledger database on the pair's primary and the same database on its replica (as the superuser)."""
    url, replica_url = dualbook_replica_pair.fresh_database("app")
    yield url, replica_url
    dualbook_replica_pair.drop_database(url)
