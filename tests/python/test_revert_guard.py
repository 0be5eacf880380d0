"""`dualbook revert` does not drop a journal that holds data unless someone confirms: a question on a terminal,
else a refusal (exit 1) unless --destroy-data. An empty ledger reverts without a question, as `make revert` does."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner, Result

from dualbook import Ledger, credit, debit
from dualbook.cli import main
from dualbook.db import migrate


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["revert", *args], env=env, input=input)


def journal_exists(db_url: str) -> bool:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT to_regclass('ledger_private.entry') IS NOT NULL").fetchone()
        return bool(row and row[0])


@pytest.fixture
def posted(app_url: str) -> None:
    with Ledger.connect(app_url, max_size=1) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("cash", "USD", "asset")
        lg.post_entry("k1", [debit("bank", 5, "USD"), credit("cash", 5, "USD")])


def test_revert_refuses_without_a_terminal(posted: None, role_env: dict[str, str], db_url: str) -> None:
    r = run(role_env)
    assert r.exit_code == 1, r.output
    assert "refusing to revert everything" in r.stderr and "ledger_private.entry (1 rows)" in r.stderr
    assert "--destroy-data" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert journal_exists(db_url)
    r = run(role_env, "--to", "table_book")
    assert r.exit_code == 1 and journal_exists(db_url)
    with pytest.raises(migrate.DataLossRefused):
        migrate.revert(db_url)


def test_revert_asks_on_a_terminal(
    posted: None, role_env: dict[str, str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dualbook.cli.db._interactive", lambda: True)
    r = run(role_env, input="n\n")
    assert r.exit_code == 1 and "Destroy that data?" in r.stderr and "not reverted" in r.stderr
    assert journal_exists(db_url)
    r = run(role_env, input="y\n")
    assert r.exit_code == 0, r.output
    assert not journal_exists(db_url)


def test_destroy_data_reverts(posted: None, role_env: dict[str, str], db_url: str) -> None:
    r = run(role_env, "--destroy-data")
    assert r.exit_code == 0, r.output
    assert not journal_exists(db_url)


def test_an_empty_ledger_reverts_without_a_question(role_env: dict[str, str], db_url: str) -> None:
    r = run(role_env)
    assert r.exit_code == 0, r.output
    assert not journal_exists(db_url)


def test_which_targets_reach_the_journal() -> None:
    holds = ["ledger_private.hold", "ledger_private.hold_leg", "ledger_private.hold_resolution"]
    assert migrate.reverts_journal(None)
    assert migrate.reverts_journal("table_book") and migrate.reverts_journal("table_entry")
    assert migrate.reverts_journal("@ROOT") and migrate.reverts_journal("HEAD^")  # unknown: assume the worst
    assert "ledger_private.entry" in migrate.reverted_tables("table_book")
    # past the account, entry and posting tables, only the holds' tables are left to drop
    for target in ("table_posting", "function_read_api", "@v0.1.0", "function_post_entry@v0.2.0"):
        assert migrate.reverted_tables(target) == holds, target
    assert not migrate.reverts_journal("holds") and not migrate.reverts_journal("@HEAD")
    assert not migrate.reverts_journal(migrate.plan_changes()[-1])


def table_exists(db_url: str, table: str) -> bool:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
        return bool(row and row[0])


def test_reverting_holds_with_holds_asks(
    app_url: str, role_env: dict[str, str], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reverting to just before the holds change drops the holds, not the entries: it asks (or refuses) when a
    hold exists, whatever became of it, and names only the tables it would drop."""
    before = migrate.plan_changes()[migrate.plan_changes().index("holds") - 1]
    with Ledger.connect(app_url, max_size=1) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("wallet", "USD", "liability", lower_limit=0)
        lg.post_entry("fund", [debit("bank", 50, "USD"), credit("wallet", 50, "USD")])
        h = lg.hold("auth", [debit("wallet", 20, "USD"), credit("bank", 20, "USD")])
        lg.void(h.hold_id, "void")  # resolved: still a record of money reserved once
    r = run(role_env, "--to", before)
    assert r.exit_code == 1, r.output
    assert "ledger_private.hold (1 rows)" in r.stderr and "ledger_private.hold_resolution (1 rows)" in r.stderr
    assert "ledger_private.entry" not in r.stderr  # not dropped by this revert, not counted
    assert table_exists(db_url, "ledger_private.hold")
    with pytest.raises(migrate.DataLossRefused):
        migrate.revert(db_url, before)
    monkeypatch.setattr("dualbook.cli.db._interactive", lambda: True)
    r = run(role_env, "--to", before, input="y\n")
    assert r.exit_code == 0, r.output
    assert not table_exists(db_url, "ledger_private.hold") and journal_exists(db_url)


def test_reverting_holds_without_holds_does_not_ask(posted: None, role_env: dict[str, str], db_url: str) -> None:
    before = migrate.plan_changes()[migrate.plan_changes().index("holds") - 1]
    r = run(role_env, "--to", before)
    assert r.exit_code == 0, r.output
    assert not table_exists(db_url, "ledger_private.hold") and journal_exists(db_url)
