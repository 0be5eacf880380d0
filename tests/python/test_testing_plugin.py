"""The pytest plugin that application teams get with ``dualbook[test]`` (registered through the ``pytest11`` entry
point, so this test uses its fixtures without importing it): a real throwaway ledger, as the application role."""

from __future__ import annotations

import psycopg
import pytest

from dualbook import Ledger, credit, debit
from dualbook import errors as E
from dualbook.db import roles


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("dualbook"), "install the package: pip install -e '.[dev]'"


def test_dualbook_ledger_posts_on_a_fresh_ledger_as_the_app(dualbook_ledger: Ledger, dualbook_url: str) -> None:
    dualbook_ledger.create_account("bank", "USD", "asset")
    dualbook_ledger.create_account("wallet:1", "USD", "liability", lower_limit=0)
    dualbook_ledger.post_entry("topup:1", [debit("bank", 500, "USD"), credit("wallet:1", 500, "USD")])
    assert dualbook_ledger.get_balance("wallet:1").balance == 500
    with pytest.raises(E.LimitExceeded):  # a real database applies the real rules
        dualbook_ledger.post_entry("spend:1", [debit("wallet:1", 501, "USD"), credit("bank", 501, "USD")])
    with psycopg.connect(dualbook_url) as conn:  # the superuser URL sees the same database
        assert conn.execute("SELECT count(*) FROM ledger_private.entry").fetchone() == (1,)


def test_each_test_gets_a_fresh_ledger(dualbook_ledger: Ledger) -> None:
    with pytest.raises(E.UnknownAccount):  # the account the test before created is not here
        dualbook_ledger.get_balance("wallet:1")


def test_dualbook_replica_urls_is_a_real_streaming_standby(dualbook_replica_urls: tuple[str, str]) -> None:
    url, replica_url = dualbook_replica_urls
    app, reader = roles.url_as(url, roles.APP), roles.url_as(replica_url, roles.READER)
    with Ledger.connect(app, read_url=reader, max_size=1) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("wallet:1", "USD", "liability")
        lg.post_entry("topup:1", [debit("bank", 5, "USD"), credit("wallet:1", 5, "USD")])
        assert lg.get_balance("wallet:1").balance == 5  # read on the standby, after it replayed the post
    with psycopg.connect(replica_url) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
