"""The checker fails loudly: copies of a small, sound set of books are corrupted as superuser with the triggers
bypassed (``session_replication_role = replica``), one corruption per copy, and the checker must report exactly
that corruption (check names and subjects), nothing less and nothing more. The original stays sound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dualbook import Ledger, credit, debit
from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database
from dualbook.tools.certify import AckRecord, Certification, SelfTestRow, check_invariants


@dataclass(frozen=True)
class Books:
    url: str
    acks: dict[str, AckRecord]

    def entry(self, key: str) -> int:
        return self.acks[key].entry_id


def build_books(url: str) -> Books:
    acks: dict[str, AckRecord] = {}
    with Ledger.connect(url, max_size=1) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("w:1", "USD", "liability", lower_limit=0)
        lg.create_account("w:2", "USD", "liability", lower_limit=0)
        lg.create_account("fees", "USD", "income")

        def post(key: str, legs: list[Any]) -> None:
            acks[key] = AckRecord.of(lg.post_entry(key, legs), legs)

        post("topup:1", [debit("bank", 10_000, "USD"), credit("w:1", 10_000, "USD")])
        post("topup:2", [debit("bank", 5_000, "USD"), credit("w:2", 5_000, "USD")])
        post("pay:1", [debit("w:1", 2_500, "USD"), credit("w:2", 2_400, "USD"), credit("fees", 100, "USD")])
        post("pay:2", [debit("w:2", 1_000, "USD"), credit("w:1", 1_000, "USD")])
        refund = lg.reverse_entry(acks["pay:2"].entry_id, "refund:pay:2", reason="test")
        acks["refund:pay:2"] = AckRecord.of(refund, [("w:2", -1_000, "USD"), ("w:1", 1_000, "USD")])
        post("topup:3", [debit("bank", 700, "USD"), credit("w:1", 700, "USD")])
    return Books(url, acks)


def posting_seq(conn: psycopg.Connection[Any], entry_id: int, leg: int) -> tuple[str, int]:
    row = conn.execute(
        "SELECT account, account_seq FROM ledger.postings WHERE entry_id = %s AND leg = %s", (entry_id, leg)
    ).fetchone()
    assert row is not None
    return row[0], row[1]


# Each corruption: a description, and a function that corrupts the copy and returns the expected {(check, subject)}.
Corruption = tuple[str, Callable[[psycopg.Connection[Any], Books], set[tuple[str, str]]]]


def amount_changed(conn: psycopg.Connection[Any], books: Books) -> set[tuple[str, str]]:
    e = books.entry("pay:1")
    account, seq = posting_seq(conn, e, 2)
    conn.execute("UPDATE ledger_private.posting SET amount = amount + 1 WHERE entry_id = %s AND leg = 2", (e,))
    return {
        ("currency_sum", "USD"),
        ("entry_balanced", f"entry {e}"),
        ("account_balance", account),
        ("running_balance", f"{account} seq {seq}"),
        ("ack_mismatch", "pay:1"),
    }


def balance_changed(conn: psycopg.Connection[Any], books: Books) -> set[tuple[str, str]]:
    conn.execute("UPDATE ledger_private.account SET balance = balance + 7 WHERE code = 'fees'")
    return {("account_balance", "fees"), ("trial_balance", "USD"), ("client_balance", "fees")}


def limit_broken(conn: psycopg.Connection[Any], books: Books) -> set[tuple[str, str]]:
    conn.execute("UPDATE ledger_private.account SET lower_limit = 1000000 WHERE code = 'w:1'")
    return {("limits", "w:1")}


def entry_deleted(conn: psycopg.Connection[Any], books: Books) -> set[tuple[str, str]]:
    e = books.entry("topup:3")  # the last entry on bank and w:1: no later running balance depends on it
    conn.execute("DELETE FROM ledger_private.posting WHERE entry_id = %s", (e,))
    conn.execute("DELETE FROM ledger_private.entry WHERE entry_id = %s", (e,))
    return {("ack_missing", "topup:3"), ("account_balance", "bank"), ("account_balance", "w:1")}


def key_posted_twice(conn: psycopg.Connection[Any], books: Books) -> set[tuple[str, str]]:
    (name,) = conn.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'ledger_private.entry'::regclass AND contype = 'u'"
    ).fetchone() or ("",)
    conn.execute(sql.SQL("ALTER TABLE ledger_private.entry DROP CONSTRAINT {}").format(sql.Identifier(name)))
    row = conn.execute(
        """INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, description, metadata,
                                            effective_date)
           SELECT book_id, idempotency_key, request_hash, description, metadata, effective_date
             FROM ledger_private.entry WHERE entry_id = %s
        RETURNING entry_id""",
        (books.entry("pay:2"),),
    ).fetchone()
    assert row is not None
    return {("idempotency", "pay:2"), ("ack_duplicate", "pay:2"), ("entry_balanced", f"entry {row[0]}")}


CORRUPTIONS: list[Corruption] = [
    ("one posting's amount +1 (pay:1, leg 2)", amount_changed),
    ("an account's maintained balance +7 (fees)", balance_changed),
    ("an account's lower limit raised above its balance (w:1)", limit_broken),
    ("an acknowledged entry deleted with its postings (topup:3)", entry_deleted),
    ("an idempotency key posted twice (unique constraint dropped; pay:2)", key_posted_twice),
]


@pytest.mark.parametrize(("what", "corrupt"), CORRUPTIONS, ids=[c[1].__name__ for c in CORRUPTIONS])
def test_checker_reports_exactly_the_corruption(
    cluster: Cluster,
    db_url: str,
    certification: Certification,
    what: str,
    corrupt: Callable[[psycopg.Connection[Any], Books], set[tuple[str, str]]],
) -> None:
    books = build_books(db_url)
    clean = check_invariants(db_url, books.acks, complete=True)
    assert clean.ok, clean

    copy_name = db_url.rsplit("/", 1)[1] + "_copy"
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy_name), sql.Identifier(db_url.rsplit("/", 1)[1])
            )
        )
    copy_url = cluster.url(copy_name)
    row = SelfTestRow(what, [], [], "FAIL")
    certification.selftests.append(row)
    try:
        with psycopg.connect(copy_url) as conn:
            conn.execute("SET session_replication_role = replica")  # ordinary triggers do not fire
            expected = corrupt(conn, books)
            conn.commit()
        report = check_invariants(copy_url, books.acks, complete=True)
        row.expected = sorted(f"{c} {s}" for c, s in expected)
        row.reported = sorted(f"{c} {s}" for c, s in report.subjects())
        assert report.subjects() == expected, str(report)
        assert not report.ok
        row.status = "PASS"
    finally:
        drop_database(cluster, copy_url)
    still = check_invariants(db_url, books.acks, complete=True)
    assert still.ok, still
