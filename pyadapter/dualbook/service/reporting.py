"""The report endpoints under ``/v1``: balances, statements, trial balances and month-end reports by effective
date, and the period close. Each report runs on the service's read target (a replica when one is configured)
in one snapshot, and its body's ``snapshot`` says what it reflects: the WAL position, the server that answered
and the commit time of the last transaction it holds (docs/service.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response

from dualbook import reports
from dualbook.calls import Call
from dualbook.service.models import (
    BalanceAsOfOut,
    ClosedThroughOut,
    MonthEndOut,
    MonthEndRowOut,
    PeriodCloseIn,
    PeriodCloseOut,
    SnapshotOut,
    StatementHoldOut,
    StatementLineOut,
    StatementOut,
    TrialBalanceAsOfOut,
    TrialBalanceAsOfRowOut,
)
from dualbook.service.routes import Book, authorize, book_of, call, ledger_of

T = TypeVar("T")
ACCOUNT_UNKNOWN = frozenset({"LD201", "LD210"})
AsOf = Annotated[date, Query(description="the effective date (included)")]

router = APIRouter(prefix="/v1")


async def read(request: Request, work: Call[T], not_found: frozenset[str] = frozenset()) -> tuple[T, SnapshotOut]:
    """Run a report on the read target; its result and the snapshot it reflects."""
    result, snap = await call(ledger_of(request).read(work), not_found)
    return result, SnapshotOut.of(snap)


@router.get("/reports/balance/{code:path}", response_model=BalanceAsOfOut, tags=["reports"])
async def balance_as_of(request: Request, code: str, as_of: AsOf, book: Book = None) -> BalanceAsOfOut:
    """An account's balance over the postings dated up to `as_of` (normal balance, minor units)."""
    authorize(request, "read")
    found, snap = await read(request, reports.balance_as_of(code, as_of, book=book_of(request, book)), ACCOUNT_UNKNOWN)
    return BalanceAsOfOut(
        account=found.account,
        currency=found.currency,
        type=found.type,
        as_of=as_of,
        balance=found.balance,
        debit_balance=found.debit_balance,
        postings=found.postings,
        snapshot=snap,
    )


@router.get(
    "/reports/statement/{code:path}",
    response_model=StatementOut,
    tags=["reports"],
    responses={200: {"headers": {"Link": {"description": 'the next page: `<url>; rel="next"` (absent on the last)'}}}},
)
async def statement(
    request: Request,
    response: Response,
    code: str,
    date_from: Annotated[date, Query(alias="from", description="the first effective date (included)")],
    date_to: Annotated[date, Query(alias="to", description="the last effective date (included)")],
    cursor: Annotated[str | None, Query(max_length=1000, description="the previous page's next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    book: Book = None,
) -> StatementOut:
    """An account's postings dated from `from` to `to` with their running balance, a page at a time: pass the
    page's `next_cursor` as `cursor` for the next one (the `Link` header names it too). Every page says the
    same opening and closing balances and pending amounts; the first page also lists the account's holds that
    matter to the period, each in its state at the period's end, and a line a capture posted names its hold."""
    authorize(request, "read")
    work = reports.statement(code, date_from, date_to, cursor=cursor, limit=limit, book=book_of(request, book))
    page, snap = await read(request, work, ACCOUNT_UNKNOWN)
    if page.next_cursor is not None:
        url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return StatementOut(
        account=page.account,
        currency=page.currency,
        type=page.type,
        date_from=page.date_from,
        date_to=page.date_to,
        opening_balance=page.opening_balance,
        closing_balance=page.closing_balance,
        lines=[StatementLineOut(**vars(line)) for line in page.lines],
        next_cursor=page.next_cursor,
        holds=None if page.holds is None else [StatementHoldOut(**vars(h)) for h in page.holds],
        pending_debit=page.pending_debit,
        pending_credit=page.pending_credit,
        snapshot=snap,
    )


@router.get("/reports/trial-balance", response_model=TrialBalanceAsOfOut, tags=["reports"])
async def trial_balance_as_of(request: Request, as_of: AsOf, book: Book = None) -> TrialBalanceAsOfOut:
    """Debits, credits and net per currency over the postings dated up to `as_of` (net is 0 in balanced books)."""
    authorize(request, "read")
    tb, snap = await read(request, reports.trial_balance_as_of(as_of, book=book_of(request, book)))
    return TrialBalanceAsOfOut(
        book=tb.book,
        as_of=tb.as_of,
        balanced=tb.balanced,
        currencies=[TrialBalanceAsOfRowOut(**vars(r)) for r in tb.rows],
        snapshot=snap,
    )


@router.get("/reports/month-end", response_model=MonthEndOut, tags=["reports"])
async def month_end(
    request: Request,
    date_from: Annotated[date, Query(alias="from", description="the period's first effective date")],
    through: Annotated[date, Query(description="the period's last effective date (included)")],
    book: Book = None,
) -> MonthEndOut:
    """Per account: opening balance, debits and credits dated in the period, closing balance, and the pending
    debits and credits of its holds outstanding at the period's end (midnight UTC after `through`, or now if
    earlier); `final` once the period is closed (the report can no longer change)."""
    authorize(request, "read")
    report, snap = await read(request, reports.month_end_report(date_from, through, book=book_of(request, book)))
    return MonthEndOut(
        book=report.book,
        date_from=report.date_from,
        date_through=report.date_through,
        final=report.final,
        closed_through=report.closed_through,
        rows=[MonthEndRowOut(**vars(r)) for r in report.rows],
        snapshot=snap,
    )


@router.get("/periods", response_model=ClosedThroughOut, tags=["reports"])
async def closed_through(request: Request, book: Book = None) -> ClosedThroughOut:
    """The book's close date: no entry may be dated on or before it (null: nothing closed)."""
    authorize(request, "read")
    name = book_of(request, book)
    closed, snap = await read(request, reports.closed_through(book=name))
    return ClosedThroughOut(book=name, closed_through=closed, snapshot=snap)


@router.post(
    "/periods/close",
    status_code=201,
    response_model=PeriodCloseOut,
    responses={200: {"description": "already closed through that date: nothing changed"}},
    tags=["reports"],
)
async def close_period(request: Request, response: Response, body: PeriodCloseIn, book: Book = None) -> PeriodCloseOut:
    """Close the book's effective dates up to `through_date` (admin scope): entries dated on or before it are
    refused afterwards (409 LD214). The same close again changes nothing (200); an earlier date than the close
    date is a 409 (LD215); a period not ended yet a 422 (LD117)."""
    authorize(request, "admin")
    closed = await call(ledger_of(request).close_period(body.through_date, book=book_of(request, book)))
    response.status_code = 201 if closed.created else 200
    return PeriodCloseOut(
        book=closed.book,
        through_date=closed.through_date,
        closed_at=closed.closed_at,
        accounts=closed.accounts,
        created=closed.created,
    )
