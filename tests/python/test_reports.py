"""Reports by effective date against a model: entries posted in random order with random (backdated) effective
dates; as-of balances and statements (every page) must equal what the acknowledged entries say, the trial
balance nets to zero on every call, and every report runs in REPEATABLE READ READ ONLY (what a hot standby
allows)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from psycopg.types.json import Jsonb

from dualbook import AsyncLedger, Ledger, credit, debit, errors
from dualbook.reports import MonthEndReport, StatementHold, StatementPage, TrialBalance, to_csv, to_json

DAY0 = date(2024, 1, 1)
ACCOUNTS = [("a", "asset"), ("b", "liability"), ("c", "expense"), ("d", "income")]
NORMAL = {t: (1 if t in ("asset", "expense") else -1) for _, t in ACCOUNTS}
_run = itertools.count()


def assert_balanced(tb: TrialBalance) -> None:
    assert tb.rows, "a trial balance with postings has rows"
    for row in tb.rows:
        assert row.debits == row.credits and row.net == 0, row
    assert tb.balanced


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    with Ledger.connect(db_url, max_size=2) as lg:
        yield lg


# One entry: (debit account index, credit account index, amount, day offset); posted in list order.
entries_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 10**6), st.integers(0, 40)).filter(
        lambda e: e[0] != e[1]
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=entries_strategy, page=st.integers(1, 4))
def test_reports_equal_the_model(
    ledger: Ledger, db_url: str, entries: list[tuple[int, int, int, int]], page: int
) -> None:
    run = next(_run)
    code = {i: f"m{run}:{name}" for i, (name, _) in enumerate(ACCOUNTS)}
    for i, (_, typ) in enumerate(ACCOUNTS):
        ledger.create_account(code[i], "USD", typ)
    acknowledged: list[tuple[int, int, int, int, int]] = []  # (entry_id, dr, cr, amount, day)
    for n, (dr, cr, amount, day) in enumerate(entries):
        r = ledger.post_entry(
            f"m{run}:{n}",
            [debit(code[dr], amount, "USD"), credit(code[cr], amount, "USD")],
            description=f"e{n}",
            effective_date=DAY0 + timedelta(days=day),
        )
        acknowledged.append((r.entry_id, dr, cr, amount, day))

    def legs_of(i: int) -> list[tuple[int, int, int, int]]:
        """(day, entry_id, leg, debit-positive amount) of account i, in statement order."""
        out = []
        for eid, dr, cr, amount, day in acknowledged:
            if dr == i:
                out.append((day, eid, 1, amount))
            if cr == i:
                out.append((day, eid, 2, -amount))
        return sorted(out)

    for i, (_, typ) in enumerate(ACCOUNTS):
        legs = legs_of(i)
        for probe in (-1, 0, 10, 20, 40):
            want = NORMAL[typ] * sum(a for d, _, _, a in legs if d <= probe)
            assert ledger.balance_as_of(code[i], DAY0 + timedelta(days=probe)).balance == want
        # the statement of days 5..30, every page
        lo, hi = 5, 30
        pages = list(ledger.statement_pages(code[i], DAY0 + timedelta(lo), DAY0 + timedelta(hi), limit=page))
        lines = [x for p in pages for x in p.lines]
        opening = NORMAL[typ] * sum(a for d, _, _, a in legs if d < lo)
        inside = [(d, e, leg, a) for d, e, leg, a in legs if lo <= d <= hi]
        assert [(x.entry_id, x.leg, x.amount) for x in lines] == [(e, leg, a) for _, e, leg, a in inside]
        running = opening
        for x, (_, _, _, a) in zip(lines, inside, strict=True):
            running += NORMAL[typ] * a
            assert x.running_balance == running
        assert all(p.opening_balance == opening for p in pages)
        assert all(p.closing_balance == running for p in pages)
        assert pages[-1].next_cursor is None and all(p.next_cursor for p in pages[:-1])
        # as recorded: in entry-id order, whatever the dates
        eids = [eid for eid, *_ in acknowledged]
        cut = eids[len(eids) // 2]
        want = NORMAL[typ] * sum(a for _, e, _, a in legs if e <= cut)
        assert ledger.balance_as_recorded(code[i], entry_id=cut).balance == want
    for probe in (0, 15, 40):
        assert_balanced(ledger.trial_balance_as_of(DAY0 + timedelta(days=probe)))


REPORT_SQL = [
    ("SELECT * FROM ledger.balance_as_of('cash', '2024-02-01')", ()),
    ("SELECT * FROM ledger.balance_as_recorded('cash', 1)", ()),
    ("SELECT * FROM ledger.statement('cash', '2024-01-01', '2024-03-31', NULL, 1)", ()),
    ("SELECT * FROM ledger.trial_balance_as_of('2024-03-31')", ()),
    ("SELECT * FROM ledger.month_end_report('2024-01-01', '2024-01-31')", ()),
    ("SELECT ledger.closed_through()", ()),
]


def _seed(lg: Ledger) -> None:
    lg.create_account("cash", "USD", "asset")
    lg.create_account("equity", "USD", "equity")
    lg.create_account("house", "USD", "income", deferred=True)
    lg.post_entry("s1", [debit("cash", 500, "USD"), credit("equity", 500, "USD")], effective_date=date(2024, 1, 20))
    lg.post_entry("s2", [debit("cash", 30, "USD"), credit("house", 30, "USD")], effective_date=date(2024, 1, 5))
    lg.post_entry("s3", [debit("cash", 7, "USD"), credit("equity", 7, "USD")], effective_date=date(2024, 2, 10))


def test_every_report_runs_in_repeatable_read_read_only(ledger: Ledger, db_url: str, reader_url: str) -> None:
    _seed(ledger)
    for url in (db_url, reader_url):
        with psycopg.connect(url) as c:
            for sql, params in REPORT_SQL:
                with c.transaction():
                    c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    assert c.execute(sql, params).fetchall()


def test_deferred_account_counts_like_get_balance(ledger: Ledger) -> None:
    _seed(ledger)
    # the sequencer has not run: the house leg is queued, and every report counts it
    assert ledger.get_balance("house").balance == 30
    assert ledger.balance_as_of("house", date(2024, 12, 31)).balance == 30
    page = ledger.statement("house", date(2024, 1, 1), date(2024, 12, 31))
    assert [x.amount for x in page.lines] == [-30] and page.closing_balance == 30
    rows = {r.account: r for r in ledger.month_end_report(date(2024, 1, 1), date(2024, 1, 31)).rows}
    assert (rows["house"].credits, rows["house"].closing) == (30, 30)
    assert_balanced(ledger.trial_balance_as_of(date(2024, 12, 31)))


def test_close_period_and_month_end(ledger: Ledger) -> None:
    _seed(ledger)
    before = ledger.month_end_report(date(2024, 1, 1), date(2024, 1, 31))
    assert not before.final and before.closed_through is None
    closed = ledger.close_period(date(2024, 1, 31))
    assert closed.created and closed.accounts == 3 and closed.through_date == date(2024, 1, 31)
    assert not ledger.close_period(date(2024, 1, 31)).created
    with pytest.raises(errors.CloseNotMonotonic):
        ledger.close_period(date(2023, 12, 31))
    with pytest.raises(errors.PeriodNotEnded):
        ledger.close_period(date.today() + timedelta(days=2))
    after = ledger.month_end_report(date(2024, 1, 1), date(2024, 1, 31))
    assert after.final and after.rows == before.rows
    assert {r.account: (r.opening, r.debits, r.credits, r.closing) for r in after.rows} == {
        "cash": (0, 530, 0, 530),
        "equity": (0, 0, 500, 500),
        "house": (0, 0, 30, 30),
    }
    feb = ledger.month_end_report(date(2024, 2, 1), date(2024, 2, 29))
    assert {r.account: (r.opening, r.closing) for r in feb.rows}["cash"] == (530, 537) and not feb.final
    # backdating into January now fails with the code and writes nothing
    entries_before = ledger.get_balance("cash").seq
    with pytest.raises(errors.PeriodClosed) as exc:
        ledger.post_entry(
            "late", [debit("cash", 1, "USD"), credit("equity", 1, "USD")], effective_date=date(2024, 1, 9)
        )
    assert exc.value.context["closed_through"] == "2024-01-31"
    assert ledger.get_balance("cash").seq == entries_before
    assert ledger.balance_as_of("cash", date(2024, 1, 31)).balance == 530
    # a reversal of a January entry lands on the first open day
    s1 = ledger.get_entry(key="s1")
    rev = ledger.reverse_entry(s1.entry_id, "s1:rev", reason="wrong")
    assert ledger.get_entry(rev.entry_id).effective_date == date(2024, 2, 1)
    with pytest.raises(errors.PeriodClosed):
        ledger.reverse_entry(ledger.get_entry(key="s3").entry_id, "s3:rev", effective_date=date(2024, 1, 31))
    assert ledger.closed_through() == date(2024, 1, 31)
    assert_balanced(ledger.trial_balance_as_of(date(2024, 2, 29)))


def test_errors_of_the_reports(ledger: Ledger) -> None:
    _seed(ledger)
    with pytest.raises(errors.InvalidDateRange):
        ledger.statement("cash", date(2024, 2, 1), date(2024, 1, 1))
    with pytest.raises(errors.InvalidCursor):
        ledger.statement("cash", date(2024, 1, 1), date(2024, 2, 1), cursor="2024-01-01.x")
    with pytest.raises(errors.UnknownAccount):
        ledger.balance_as_of("nope", date(2024, 1, 1))
    with pytest.raises(errors.InvalidArgument):
        ledger.balance_as_recorded("cash")


def test_exports(ledger: Ledger) -> None:
    import json

    _seed(ledger)
    page = ledger.statement("cash", date(2024, 1, 1), date(2024, 3, 31))
    csv_text = to_csv(page)
    assert (
        csv_text.splitlines()[0] == "effective_date,entry_id,leg,description,amount,running_balance,recorded_at,hold_id"
    )
    assert [line.split(",")[5] for line in csv_text.splitlines()[1:]] == ["30", "530", "537"]
    doc = json.loads(to_json(page))
    assert doc["opening_balance"] == 0 and doc["closing_balance"] == 537
    assert [x["running_balance"] for x in doc["lines"]] == [30, 530, 537]
    tb = ledger.trial_balance_as_of(date(2024, 3, 31))
    assert_balanced(tb)
    assert json.loads(to_json(tb))["rows"] == [
        {"currency": "USD", "debits": 537, "credits": 537, "net": 0, "accounts": 3}
    ]
    me: MonthEndReport = ledger.month_end_report(date(2024, 1, 1), date(2024, 1, 31))
    assert to_csv(me).splitlines()[:2] == [
        "account,currency,type,opening,debits,credits,closing,pending_debit,pending_credit",
        "cash,USD,asset,0,530,0,530,0,0",
    ]
    assert isinstance(page, StatementPage)


def test_async_reports(db_url: str) -> None:
    with Ledger.connect(db_url, max_size=1) as lg:
        _seed(lg)

    async def main() -> dict[str, Any]:
        async with await AsyncLedger.connect(db_url, max_size=1) as lg:
            pages = [p async for p in lg.statement_pages("cash", date(2024, 1, 1), date(2024, 3, 31), limit=2)]
            tb = await lg.trial_balance_as_of(date(2024, 3, 31))
            me = await lg.month_end_report(date(2024, 1, 1), date(2024, 1, 31))
            bal = await lg.balance_as_of("cash", date(2024, 1, 31))
            closed = await lg.close_period(date(2024, 1, 31))
            return {"pages": pages, "tb": tb, "me": me, "bal": bal, "closed": closed}

    out = asyncio.run(main())
    assert [len(p.lines) for p in out["pages"]] == [2, 1]
    assert out["pages"][-1].lines[-1].running_balance == 537
    assert_balanced(out["tb"])
    assert out["bal"].balance == 530
    assert out["closed"].created and not out["me"].final


def test_close_and_a_concurrent_backdated_posting_serialize(ledger: Ledger, db_url: str) -> None:
    """A posting dated into a period and the close of that period, in flight at the same time: SSI lets only one
    order happen (one of the two fails with 40001); after the retry the close's checkpoint and the journal agree."""
    _seed(ledger)
    legs = Jsonb(
        [{"account": "cash", "amount": 9, "currency": "USD"}, {"account": "equity", "amount": -9, "currency": "USD"}]
    )
    failed = []
    with psycopg.connect(db_url) as t1, psycopg.connect(db_url) as t2:
        for c in (t1, t2):
            c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        row = t1.execute(
            "SELECT status FROM ledger.post_entry('race', %s, p_effective_date => '2024-01-15')", (legs,)
        ).fetchone()
        assert row == ("posted",)
        t2.execute("SELECT * FROM ledger.close_period('2024-01-31')").fetchall()
        for c in (t2, t1):
            try:
                c.commit()
            except psycopg.errors.SerializationFailure:
                failed.append(c)
                c.rollback()
    assert len(failed) == 1
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("SET default_transaction_isolation = serializable")
        posted = c.execute("SELECT count(*) FROM ledger.entries WHERE idempotency_key = 'race'").fetchone()
        closed = c.execute("SELECT ledger.closed_through()").fetchone()
        if failed[0] is t1:  # the close won: the posting's retry is refused
            assert posted == (0,) and closed == (date(2024, 1, 31),)
            with pytest.raises(errors.PeriodClosed):
                ledger.post_entry(
                    "race", [debit("cash", 9, "USD"), credit("equity", 9, "USD")], effective_date=date(2024, 1, 15)
                )
        else:  # the posting won: the retried close includes it
            assert posted == (1,) and closed == (None,)
            ledger.close_period(date(2024, 1, 31))
        expected = 530 + (9 if failed[0] is t2 else 0)
        checkpoint = c.execute(
            "SELECT k.balance FROM ledger_private.account_checkpoint AS k JOIN ledger_private.account AS a"
            " USING (book_id, account_id) WHERE a.code = 'cash'"
        ).fetchone()
        assert checkpoint is not None and checkpoint[0] == expected
        assert ledger.balance_as_of("cash", date(2024, 1, 31)).balance == expected


def test_statement_holds_through_the_adapter(ledger: Ledger, db_url: str) -> None:
    """Holds of every state in a statement through the adapter (sync and async): a capture in part, a void, an
    expiry the sweeper never recorded, a pending hold; the capture's line names its hold; the exports carry them."""
    ledger.create_account("bank", "USD", "asset")
    ledger.create_account("card", "USD", "liability", lower_limit=0)
    ledger.create_account("shop", "USD", "liability")
    ledger.post_entry("fund", [debit("bank", 1000, "USD"), credit("card", 1000, "USD")])

    def auth(amount: int) -> list[Any]:
        return [debit("card", amount, "USD"), credit("shop", amount, "USD")]

    soon = datetime.now(UTC) + timedelta(seconds=1)
    h1 = ledger.hold("a:1", auth(300), description="hotel").hold_id
    h2 = ledger.hold("a:2", auth(100)).hold_id
    h3 = ledger.hold("a:3", auth(50), expires_at=soon).hold_id
    h4 = ledger.hold("a:4", auth(20)).hold_id
    cap = ledger.capture(h1, "c:1", 120)
    ledger.void(h2, "v:2")
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)
    today = ledger.get_entry(key="fund").effective_date

    page = ledger.statement("card", today, today)
    assert page.holds is not None
    assert [(h.hold_id, h.status, h.amount, h.entry_id, h.captured_amount) for h in page.holds] == [
        (h1, "captured", 300, cap.entry_id, 120),
        (h2, "voided", 100, None, None),
        (h3, "expired", 50, None, None),
        (h4, "pending", 20, None, None),
    ]
    assert all(isinstance(h, StatementHold) for h in page.holds)
    assert page.holds[0].description == "hotel" and page.holds[2].resolved_at == soon.replace(
        microsecond=soon.microsecond
    )
    assert page.holds[3].resolved_at is None and page.holds[2].expires_at == page.holds[2].resolved_at
    assert (page.pending_debit, page.pending_credit) == (20, 0)
    assert (page.pending_debit, page.pending_credit) == (
        ledger.get_available("card").pending_debit,
        ledger.get_available("card").pending_credit,
    )
    assert [(x.amount, x.hold_id) for x in page.lines] == [(-1000, None), (120, h1)]
    pages = list(ledger.statement_pages("card", today, today, limit=1))
    assert pages[0].holds == page.holds and pages[1].holds is None and pages[1].pending_debit == 20
    doc = json.loads(to_json(page))
    assert [h["status"] for h in doc["holds"]] == ["captured", "voided", "expired", "pending"]
    assert doc["pending_debit"] == 20 and doc["lines"][1]["hold_id"] == h1
    assert to_csv(page).splitlines()[2].endswith(f",{h1}")
    assert ledger.statement("card", today - timedelta(days=1), today - timedelta(days=1)).holds == []

    async def main() -> Any:
        async with await AsyncLedger.connect(db_url, max_size=1) as lg:
            return await lg.statement("shop", today, today)

    shop = asyncio.run(main())
    assert [(h.amount, h.captured_amount) for h in shop.holds] == [(-300, -120), (-100, None), (-50, None), (-20, None)]
    assert (shop.pending_debit, shop.pending_credit) == (0, 20)
