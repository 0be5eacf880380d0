"""Helpers for the tamper-evident journal's tests: a small chart of accounts, postings, tampering as a superuser
with the triggers off, and the sealer called on its own connection."""

from __future__ import annotations

from typing import Any

import psycopg

from dualbook import Ledger, credit, debit
from dualbook.audit.journal import SealResult, _seal_result

SEAL_SQL = "SELECT status, entries, seals, sealed_through, waiting_for FROM ledger.seal_journal(%s, %s)"


def chart(lg: Ledger) -> None:
    """bank (asset), two wallets (no overdraft), deferred fee and settlement accounts (postings between those two
    share no row, so concurrent ones never wait for each other), a second book with its own accounts."""
    lg.create_account("bank", "USD", "asset")
    lg.create_account("wallet:1", "USD", "liability", lower_limit=0)
    lg.create_account("wallet:2", "USD", "liability", lower_limit=0)
    lg.create_account("fees", "USD", "income", deferred=True)
    lg.create_account("settlement", "USD", "asset", deferred=True)
    lg.create_book("emea")
    lg.create_account("bank", "EUR", "asset", book="emea")
    lg.create_account("wallet:9", "EUR", "liability", book="emea")


def history(lg: Ledger) -> dict[str, int]:
    """A few entries in both books, including a payment with a fee on the deferred account and a reversal."""
    ids = {
        "topup1": lg.post_entry("topup:1", [debit("bank", 10_000, "USD"), credit("wallet:1", 10_000, "USD")]).entry_id,
        "topup2": lg.post_entry("topup:2", [debit("bank", 5_000, "USD"), credit("wallet:2", 5_000, "USD")]).entry_id,
        "pay": lg.post_entry(
            "pay:1",
            [debit("wallet:1", 2_500, "USD"), credit("wallet:2", 2_450, "USD"), credit("fees", 50, "USD")],
            description="Café ☕ order 7",
            metadata={"order": 7, "tags": ["a", "b"]},
        ).entry_id,
        "emea": lg.post_entry(
            "emea:1", [debit("bank", 700, "EUR"), credit("wallet:9", 700, "EUR")], book="emea"
        ).entry_id,
    }
    ids["reversal"] = lg.reverse_entry(ids["pay"], "rev:pay:1", reason="refund").entry_id
    ids["pay2"] = lg.post_entry("pay:2", [debit("wallet:2", 100, "USD"), credit("wallet:1", 100, "USD")]).entry_id
    return ids


def seal_on(conn: psycopg.Connection[Any], max_entries: int = 10_000, wait_ms: int = 2_000) -> SealResult:
    """One sealer call on the caller's (autocommit, READ COMMITTED) connection."""
    row = conn.execute(SEAL_SQL, (max_entries, wait_ms)).fetchone()
    assert row is not None
    return _seal_result(row)


def tamper(db_url: str, *statements: str) -> None:
    """Run statements as the superuser with every ordinary trigger off (the append-only guards included)."""
    with psycopg.connect(db_url) as c:
        c.execute("SET session_replication_role = replica")
        for sql in statements:
            c.execute(sql)  # type: ignore[arg-type]


def account_id(db_url: str, code: str, book: str = "default") -> int:
    with psycopg.connect(db_url) as c:
        row = c.execute("SELECT account_id FROM ledger.accounts WHERE code = %s AND book = %s", (code, book)).fetchone()
    assert row is not None
    return int(row[0])
