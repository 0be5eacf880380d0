"""A refused key stays refused (docs/sql-api.md §1.6): the adapter raises the same exception for a refusal,
every later call with the key and the same request raises it again, and get_outcome() tells what became of a key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest

from dualbook import AsyncLedger, EntryRequest, KeyOutcome, Ledger, credit, debit
from dualbook import errors as E


@pytest.fixture
def ledger(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=4) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("wallet", "USD", "liability", lower_limit=0)
        yield lg


def pay(lg: Ledger, key: str, amount: int, **kw: object) -> object:
    return lg.post_entry(key, [debit("wallet", amount, "USD"), credit("bank", amount, "USD")], **kw)  # type: ignore[arg-type]


def test_a_refusal_is_raised_recorded_and_raised_again(ledger: Ledger) -> None:
    with pytest.raises(E.LimitExceeded) as first:
        pay(ledger, "pay:1", 50)
    assert first.value.recorded and first.value.account == "wallet" and first.value.code == "LD203"
    # funds arrive: the same request under the refused key is refused again, never posted
    ledger.post_entry("topup", [debit("bank", 100, "USD"), credit("wallet", 100, "USD")])
    with pytest.raises(E.LimitExceeded) as again:
        pay(ledger, "pay:1", 50)
    assert (again.value.message, again.value.detail, again.value.hint) == (
        first.value.message,
        first.value.detail,
        first.value.hint,
    )
    assert first.value.hint and first.value.hint.startswith("The entry was not posted")
    assert ledger.get_balance("wallet").balance == 100
    with pytest.raises(E.IdempotencyConflict):
        pay(ledger, "pay:1", 40)
    [result] = ledger.post_entries([EntryRequest("pay:1", [debit("wallet", 50, "USD"), credit("bank", 50, "USD")])])
    assert result.status == "refused" and isinstance(result.error, E.LimitExceeded) and result.created is False


def test_validation_errors_leave_the_key_unused(ledger: Ledger) -> None:
    with pytest.raises(E.UnbalancedEntry) as info:
        ledger.post_entry("v:1", [debit("wallet", 5, "USD"), credit("bank", 4, "USD")])
    assert not info.value.recorded
    assert ledger.get_outcome("v:1").status == "unknown"
    ledger.post_entry("topup", [debit("bank", 5, "USD"), credit("wallet", 5, "USD")])
    assert pay(ledger, "v:1", 5).created  # type: ignore[attr-defined]


def test_get_outcome(ledger: Ledger, reader_url: str) -> None:
    posted = ledger.post_entry("topup", [debit("bank", 100, "USD"), credit("wallet", 100, "USD")])
    with pytest.raises(E.LimitExceeded):
        pay(ledger, "pay:2", 500)
    outcome = ledger.get_outcome("topup")
    assert isinstance(outcome, KeyOutcome)
    assert (outcome.status, outcome.entry_id, outcome.error) == ("posted", posted.entry_id, None)
    refused = ledger.get_outcome("pay:2")
    assert refused.status == "refused" and refused.entry_id is None
    assert isinstance(refused.error, E.LimitExceeded) and refused.error.recorded
    assert ledger.get_outcome("never").status == "unknown"
    with Ledger.connect(reader_url, max_size=1) as reader:  # granted like the other point reads
        assert reader.get_outcome("pay:2").status == "refused"

    async def main() -> None:
        async with await AsyncLedger.connect(reader_url, max_size=1) as lg:
            assert (await lg.get_outcome("topup")).entry_id == posted.entry_id

    asyncio.run(main())


def test_reverse_entry_refusal_is_recorded(ledger: Ledger) -> None:
    topup = ledger.post_entry("topup", [debit("bank", 100, "USD"), credit("wallet", 100, "USD")])
    pay(ledger, "spend", 60)
    with pytest.raises(E.LimitExceeded) as info:
        ledger.reverse_entry(topup.entry_id, "rev")
    assert info.value.recorded
    ledger.post_entry("topup:2", [debit("bank", 100, "USD"), credit("wallet", 100, "USD")])
    with pytest.raises(E.LimitExceeded):
        ledger.reverse_entry(topup.entry_id, "rev")
    assert ledger.get_outcome("rev").status == "refused"


def test_a_refusal_in_the_callers_transaction_commits_with_it(ledger: Ledger, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        with conn.transaction(), pytest.raises(E.LimitExceeded):
            ledger.post_entry(
                "pay:conn", [debit("wallet", 1, "USD"), credit("bank", 1, "USD")], conn=conn
            )  # caught: the caller's transaction goes on and commits the record
        assert ledger.get_outcome("pay:conn").status == "refused"
        with pytest.raises(E.LimitExceeded), conn.transaction():
            ledger.post_entry("pay:conn2", [debit("wallet", 1, "USD"), credit("bank", 1, "USD")], conn=conn)
        assert ledger.get_outcome("pay:conn2").status == "unknown"  # the exception rolled the caller's unit back
