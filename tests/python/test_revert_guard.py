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
    assert migrate.reverts_journal(None)
    assert migrate.reverts_journal("table_book") and migrate.reverts_journal("table_entry")
    assert migrate.reverts_journal("@ROOT") and migrate.reverts_journal("HEAD^")  # unknown: assume the worst
    assert not migrate.reverts_journal("table_posting")
    assert not migrate.reverts_journal("function_read_api") and not migrate.reverts_journal("@v0.1.0")
    assert not migrate.reverts_journal("function_post_entry@v0.2.0") and not migrate.reverts_journal("@HEAD")
