"""The Python adapter against a real PostgreSQL: every method, every error class, retries, lost COMMITs."""

from __future__ import annotations

import asyncio
import threading
import unicodedata
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from dualbook import AsyncLedger, BalanceAssertion, Ledger, RetryPolicy, credit, debit, run_serializable
from dualbook import errors as E
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.money import format_amount, parse_amount

from .faults import CommitDroppingProxy


@pytest.fixture
def ledger(app_url: str) -> Iterator[Ledger]:
    """A client connected as the application role, as in production (docs/security.md)."""
    with Ledger.connect(app_url, max_size=4) as lg:
        lg.create_account("bank", "USD", "asset")
        lg.create_account("wallet:1", "USD", "liability", lower_limit=0)
        lg.create_account("wallet:2", "USD", "liability", lower_limit=0)
        lg.create_account("fees", "USD", "income")
        lg.create_account("eur:bank", "EUR", "asset")
        yield lg


def topup(lg: Ledger, key: str, wallet: str, amount: int) -> None:
    lg.post_entry(key, [debit("bank", amount, "USD"), credit(wallet, amount, "USD")])


def test_post_replay_read_and_reverse(ledger: Ledger, reader_url: str) -> None:
    r = ledger.post_entry(
        "topup:1",
        [debit("bank", 10_000, "USD"), credit("wallet:1", 10_000, "USD")],
        description="top-up",
        metadata={"source": "card"},
    )
    assert r.created and r.attempts == 1 and not r.recovered
    assert r.balances == {"bank": 10_000, "wallet:1": 10_000}

    again = ledger.post_entry(
        "topup:1",
        [debit("bank", 10_000, "USD"), credit("wallet:1", 10_000, "USD")],
        description="top-up",
        metadata={"source": "card"},
    )
    assert (again.entry_id, again.created) == (r.entry_id, False)
    assert ledger.get_balance("wallet:1").balance == 10_000
    assert ledger.get_balance("wallet:1").seq == 1

    pay = ledger.post_entry(
        "pay:1",
        [debit("wallet:1", 2_500, "USD"), credit("wallet:2", 2_400, "USD"), credit("fees", 100, "USD")],
        assertions=[BalanceAssertion("wallet:1", ">=", 0)],
    )
    entry = ledger.get_entry(pay.entry_id)
    assert entry.idempotency_key == "pay:1"
    assert [(leg.account, leg.amount) for leg in entry.legs] == [
        ("wallet:1", 2500),
        ("wallet:2", -2400),
        ("fees", -100),
    ]
    assert ledger.get_entry(key="pay:1").entry_id == pay.entry_id

    rev = ledger.reverse_entry(pay.entry_id, "refund:1", reason="customer asked")
    assert rev.created
    assert ledger.get_balance("wallet:1").balance == 10_000
    assert ledger.get_balance("wallet:2").balance == 0
    assert ledger.get_entry(pay.entry_id).reversed_by_entry_id == rev.entry_id
    assert ledger.books_check() == []
    # Every method works as the application's role, reads included (docs/security.md), and the same as the
    # reader's.
    with Ledger.connect(reader_url, max_size=1) as reader:
        for lg in (ledger, reader):
            assert lg.trial_balance() == [("EUR", 0, 0, 0), ("USD", 10_000, 10_000, 0)]
            assert [a.code for a in lg.list_accounts(prefix="wallet:")] == ["wallet:1", "wallet:2"]
            assert lg.currencies()["JPY"].exponent == 0


def test_error_catalog_matches_python_registry(conn: psycopg.Connection) -> None:
    rows = conn.execute("SELECT sqlstate, name, category FROM ledger.error_codes").fetchall()
    registry = E.registry()
    assert {r[0] for r in rows} == set(registry)
    category = {"validation": E.ValidationError, "conflict": E.ConflictError, "infrastructure": E.InfrastructureError}
    for sqlstate, name, cat in rows:
        cls = registry[sqlstate]
        assert cls.name == name, sqlstate
        assert issubclass(cls, category[cat]), sqlstate


@pytest.mark.parametrize(
    ("legs", "error", "account"),
    [
        ([debit("bank", 5, "USD")], E.TooFewLegs, None),
        ([debit("bank", 5, "USD"), credit("wallet:1", 4, "USD")], E.UnbalancedEntry, None),
        ([debit("bank", 0, "USD"), credit("wallet:1", 0, "USD")], E.ZeroAmount, "bank"),
        ([debit("bank", 5, "USD"), credit("nobody", 5, "USD")], E.UnknownAccount, "nobody"),
        ([debit("eur:bank", 5, "USD"), credit("wallet:1", 5, "USD")], E.CurrencyMismatch, "eur:bank"),
        ([debit("bank", 5, "XXQ"), credit("wallet:1", 5, "XXQ")], E.UnknownCurrency, None),
        ([debit("wallet:1", 5, "USD"), credit("bank", 5, "USD")], E.LimitExceeded, "wallet:1"),
        ([debit("bank", 2**63, "USD"), credit("wallet:1", 2**63, "USD")], E.AmountOutOfRange, "bank"),
        (
            [{"account": "bank", "amount": 1, "currency": "USD", "x": 1}, credit("wallet:1", 1, "USD")],
            E.InvalidArgument,
            None,
        ),
        ([debit("bank", 1, "USD")] * 51 + [credit("wallet:1", 51, "USD")] * 50, E.TooManyLegs, None),
    ],
)
def test_each_error_class(ledger: Ledger, legs: list, error: type[E.LedgerError], account: str | None) -> None:
    before = ledger.get_balance("bank")
    with pytest.raises(error) as info:
        ledger.post_entry("bad", legs)
    assert info.value.code == error.sqlstate
    assert info.value.message
    if account is not None:
        assert info.value.account == account
    assert ledger.get_balance("bank") == before  # nothing changed
    with pytest.raises(E.UnknownEntry):
        ledger.get_entry(key="bad")


def test_state_errors(ledger: Ledger) -> None:
    topup(ledger, "t1", "wallet:1", 100)
    with pytest.raises(E.IdempotencyConflict) as info:
        topup(ledger, "t1", "wallet:1", 101)
    assert info.value.context["idempotency_key"] == "t1"
    with pytest.raises(E.AssertionFailed):
        ledger.post_entry(
            "a1",
            [debit("bank", 1, "USD"), credit("wallet:1", 1, "USD")],
            assertions=[BalanceAssertion("wallet:1", "=", 5)],
        )
    with pytest.raises(E.AccountNotZero):
        ledger.close_account("wallet:1")
    ledger.close_account("wallet:2")
    with pytest.raises(E.AccountClosed) as closed:
        topup(ledger, "t2", "wallet:2", 1)
    assert closed.value.account == "wallet:2" and closed.value.leg == 2
    with pytest.raises(E.AccountExists):
        ledger.create_account("wallet:1", "EUR", "liability")
    assert not ledger.create_account("wallet:1", "USD", "liability", lower_limit=0).created
    with pytest.raises(E.UnknownBook):
        ledger.get_balance("bank", book="nope")
    with pytest.raises(E.UnknownEntry):
        ledger.reverse_entry(999_999, "r")
    entry = ledger.get_entry(key="t1").entry_id
    ledger.reverse_entry(entry, "r1")
    with pytest.raises(E.AlreadyReversed):
        ledger.reverse_entry(entry, "r2")


def test_books_and_currencies_are_the_migrators(ledger: Ledger, db_url: str) -> None:
    """The application's role cannot create a book or a currency (reference data); the migrator can."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ledger.create_currency("POINTS", 0, "Loyalty points")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        ledger.create_book("emea")
    with Ledger.connect(roles.url_as(db_url, roles.MIGRATOR), max_size=1) as admin:
        with pytest.raises(E.CurrencyExists):
            admin.create_currency("USD", 3)
        assert admin.create_currency("POINTS", 0, "Loyalty points")
        assert admin.create_book("emea") > 1
        with pytest.raises(E.BookExists):
            admin.create_book("emea", "another name")
    assert ledger.create_account("points", "POINTS", "liability", book="emea").created


def test_unknown_database_errors_are_not_swallowed(ledger: Ledger) -> None:
    def boom(c: psycopg.Connection) -> None:
        c.execute("SELECT 1/0")

    with pytest.raises(psycopg.errors.DivisionByZero):
        ledger.transaction(boom)


def test_caller_transaction_commits_atomically_or_not_at_all(ledger: Ledger, db_url: str) -> None:
    with psycopg.connect(db_url) as c:
        c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        with c.transaction(force_rollback=True):
            r = ledger.post_entry("in-tx", [debit("bank", 7, "USD"), credit("wallet:1", 7, "USD")], conn=c)
            assert r.created
            assert ledger.get_balance("wallet:1", conn=c).balance == 7
        assert ledger.get_balance("wallet:1").balance == 0  # rolled back with the caller's transaction

        def unit(conn: psycopg.Connection) -> int:
            conn.execute("CREATE TABLE IF NOT EXISTS public.orders (id int primary key)")
            conn.execute("INSERT INTO public.orders VALUES (1)")
            return ledger.post_entry(
                "order:1", [debit("bank", 9, "USD"), credit("wallet:1", 9, "USD")], conn=conn
            ).entry_id

        run_serializable(c, unit)
        assert ledger.get_balance("wallet:1").balance == 9
        assert c.execute("SELECT count(*) FROM public.orders").fetchone() == (1,)


def test_caller_transaction_must_be_serializable(ledger: Ledger, db_url: str) -> None:
    with psycopg.connect(db_url) as c:  # READ COMMITTED
        with pytest.raises(E.NotSerializable):
            ledger.post_entry("rc", [debit("bank", 1, "USD"), credit("wallet:1", 1, "USD")], conn=c)
        c.rollback()
        assert ledger.get_balance("wallet:1").seq == 0


def test_serialization_failure_is_retried(ledger: Ledger, db_url: str) -> None:
    """Hold wallet:1's row in an open SERIALIZABLE transaction; the adapter's concurrent post waits, then gets
    40001 when the holder commits, and succeeds on its second attempt."""
    topup(ledger, "seed", "wallet:1", 1_000)
    holder = psycopg.connect(db_url)
    holder.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    holder.execute(
        'SELECT ledger.post_entry(\'holder\', \'[{"account":"wallet:1","amount":100,"currency":"USD"},'
        '{"account":"bank","amount":-100,"currency":"USD"}]\')'
    )
    result: dict[str, object] = {}

    def contender() -> None:
        result["r"] = ledger.post_entry("contender", [debit("wallet:1", 50, "USD"), credit("wallet:2", 50, "USD")])

    t = threading.Thread(target=contender)
    t.start()
    t.join(timeout=1.0)
    assert t.is_alive(), "contender should be waiting on the row lock"
    holder.commit()
    holder.close()
    t.join(timeout=30)
    r = result["r"]
    assert r.created and r.attempts >= 2
    assert ledger.stats.serialization_failures >= 1
    assert ledger.get_balance("wallet:1").balance == 850
    assert ledger.books_check() == []


def test_retries_are_bounded(ledger: Ledger, db_url: str) -> None:
    impatient = Ledger(ledger.pool, retry=RetryPolicy(max_attempts=1))
    holder = psycopg.connect(db_url)
    holder.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    holder.execute(
        'SELECT ledger.post_entry(\'h\', \'[{"account":"bank","amount":1,"currency":"USD"},'
        '{"account":"fees","amount":-1,"currency":"USD"}]\')'
    )
    errs: list[BaseException] = []

    def contender() -> None:
        try:
            impatient.post_entry("c", [debit("bank", 1, "USD"), credit("fees", 1, "USD")])
        except BaseException as exc:
            errs.append(exc)

    t = threading.Thread(target=contender)
    t.start()
    t.join(timeout=1.0)
    holder.commit()
    holder.close()
    t.join(timeout=30)
    assert len(errs) == 1 and isinstance(errs[0], E.RetriesExhausted)
    assert errs[0].code == "40001"


def test_lost_commit_is_resolved_by_replay(ledger: Ledger, cluster: Cluster, db_url: str) -> None:
    """The connection dies after the call (an autocommit statement: it commits by itself) reached the server: the
    posting committed, the client never heard.
    The adapter retries with the same key, gets the original entry back, and reports success exactly once."""
    dbname = db_url.rsplit("/", 1)[1]
    assert cluster.port is not None
    proxy = CommitDroppingProxy(cluster.port, on="statement")
    try:
        with Ledger.connect(proxy.url(dbname, roles.APP), max_size=2) as lg:
            proxy.armed.set()
            r = lg.post_entry("torn:1", [debit("bank", 42, "USD"), credit("wallet:1", 42, "USD")])
            assert proxy.dropped == 1
            assert r.recovered and r.attempts == 2
            assert r.created is False  # the first attempt had committed; the retry was a replay
    finally:
        proxy.close()
    assert ledger.get_balance("wallet:1").balance == 42
    assert ledger.get_balance("wallet:1").seq == 1  # exactly once
    assert ledger.books_check() == []


def test_money_helpers(ledger: Ledger) -> None:
    assert ledger.parse_money("12.34 USD").amount == 1234
    assert ledger.parse_money("5 JPY").amount == 5
    assert ledger.parse_money("1.234 BHD").amount == 1234
    assert ledger.format_money(-5, "USD") == "-0.05 USD"
    assert format_amount(1234, 0) == "1234"
    assert parse_amount(Decimal("0.10"), 2) == 10
    with pytest.raises(E.InvalidArgument):
        ledger.parse_money("1.234 USD")
    with pytest.raises(E.InvalidArgument):
        parse_amount(1.5, 2)  # type: ignore[arg-type]
    with pytest.raises(E.UnknownCurrency):
        ledger.parse_money("1 ZZZ")


def test_async_twin_has_the_same_surface(app_url: str) -> None:
    sync_methods = {m for m in dir(Ledger) if not m.startswith("_")} - {"exponent", "parse_money", "format_money"}
    assert sync_methods <= {m for m in dir(AsyncLedger) if not m.startswith("_")}

    async def main() -> None:
        async with await AsyncLedger.connect(app_url, max_size=4) as lg:
            await lg.create_account("a", "USD", "asset")
            await lg.create_account("b", "USD", "liability", lower_limit=0)
            results = await asyncio.gather(
                *(lg.post_entry(f"k{i}", [debit("a", 10, "USD"), credit("b", 10, "USD")]) for i in range(20))
            )
            assert all(r.created for r in results)
            assert (await lg.get_balance("b")).balance == 200
            with pytest.raises(E.LimitExceeded):
                await lg.post_entry("over", [debit("b", 201, "USD"), credit("a", 201, "USD")])
            e = await lg.get_entry(key="k3")
            rev = await lg.reverse_entry(e.entry_id, "rk3")
            assert rev.created and (await lg.get_balance("b")).balance == 190
            assert await lg.books_check() == []

    asyncio.run(main())


def test_assertion_without_balance_is_refused(ledger: Ledger) -> None:
    legs = [debit("bank", 1, "USD"), credit("wallet:1", 1, "USD")]
    with pytest.raises(E.InvalidArgument):
        ledger.post_entry("a", legs, assertions=[{"account": "wallet:1", "op": "="}])
    assert ledger.get_balance("wallet:1").seq == 0


def test_closed_account_is_not_recreated(ledger: Ledger) -> None:
    ledger.close_account("wallet:2")
    with pytest.raises(E.AccountClosed):
        ledger.create_account("wallet:2", "USD", "liability", lower_limit=0)


def test_batch_posting(ledger: Ledger) -> None:
    from dualbook import EntryRequest

    results = ledger.post_entries(
        [
            EntryRequest("b1", [debit("bank", 100, "USD"), credit("wallet:1", 100, "USD")]),
            EntryRequest("b2", [debit("wallet:1", 500, "USD"), credit("bank", 500, "USD")]),
            {"key": "b3", "legs": [debit("wallet:1", 30, "USD").as_json(), credit("wallet:2", 30, "USD").as_json()]},
            EntryRequest("b1", [debit("bank", 100, "USD"), credit("wallet:1", 100, "USD")]),
        ]
    )
    assert [r.status for r in results] == ["posted", "refused", "posted", "replayed"]
    refused = results[1].error
    assert isinstance(refused, E.LimitExceeded) and refused.account == "wallet:1" and refused.recorded
    assert results[3].entry_id == results[0].entry_id
    assert ledger.get_balance("wallet:1").balance == 70
    with pytest.raises(E.LimitExceeded) as info:
        ledger.post_entries(
            [
                EntryRequest("a1", [debit("bank", 1, "USD"), credit("wallet:2", 1, "USD")]),
                EntryRequest("a2", [debit("wallet:2", 10**6, "USD"), credit("bank", 10**6, "USD")]),
            ],
            atomic=True,
        )
    assert info.value.context["entry"] == 2
    assert ledger.get_balance("wallet:2").balance == 30  # nothing of the atomic batch posted
    with pytest.raises(E.TooManyEntries):
        ledger.post_entries([])
    assert ledger.books_check() == []


def test_instrument_and_unicode_codes(ledger: Ledger, db_url: str) -> None:
    """Instrument codes (BRK.B, VWCE-DE, X) and account codes in any script, in NFC: the NFD spelling of a code
    opens the same account again (a replay)."""
    with Ledger.connect(roles.url_as(db_url, roles.MIGRATOR), max_size=1) as admin:
        for code in ("BRK.B", "VWCE-DE", "X"):
            assert admin.create_currency(code, 0)
        with pytest.raises(E.InvalidArgument):
            admin.create_currency("1234", 0)
    nfc = unicodedata.normalize("NFC", "Assets:Café")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    first = ledger.create_account(nfc, "BRK.B", "asset")
    assert first.created
    again = ledger.create_account(nfd, "BRK.B", "asset")
    assert again.account_id == first.account_id and not again.created
    ledger.create_account("Капитал", "BRK.B", "equity")
    ledger.post_entry("buy:1", [debit(nfc, 3, "BRK.B"), credit("Капитал", 3, "BRK.B")])
    assert ledger.get_balance(nfc).balance == 3
    assert ledger.parse_money("2 brk.b").currency == "BRK.B"
    with pytest.raises(E.InvalidArgument):
        ledger.create_account("limit", "USD", "asset", lower_limit=-(2**63))
