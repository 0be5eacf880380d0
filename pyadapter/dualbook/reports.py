"""The reporting API's calls, results and exports, shared by :class:`~dualbook.Ledger` and
:class:`~dualbook.AsyncLedger`.

Two times, defined once (docs/design.md §10): the **effective date** an entry is for (the caller's business date,
may be backdated) and the **recorded order** in which the ledger accepted entries (entry ids, ``recorded_at``).
Balances as of a date, statements, trial balances and month-end reports are by effective date and are right
whatever order the entries arrived in; :func:`balance_as_recorded` answers by recorded order. Every amount is an
exact integer of minor units. Each result has a ``snapshot`` field saying what it reflects (None when unknown).

Exports: :func:`to_json` and :func:`to_csv` render a statement page (or its lines), a trial balance or a
month-end report.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TypeVar

from psycopg.rows import class_row, dict_row

from dualbook.calls import Call, _exact_int
from dualbook.results import Snapshot

__all__ = [
    "BalanceAsOf",
    "MonthEndReport",
    "MonthEndRow",
    "PeriodClose",
    "StatementHold",
    "StatementLine",
    "StatementPage",
    "TrialBalance",
    "TrialBalanceRow",
    "to_csv",
    "to_json",
]


@dataclass(frozen=True)
class BalanceAsOf:
    """An account's balance over the postings dated up to ``as_of`` (:func:`balance_as_of`), or over the entries
    up to ``through_entry_id`` in recorded order (:func:`balance_as_recorded`). ``balance`` is the normal
    balance, ``debit_balance`` the debit-positive one, ``postings`` how many legs it sums."""

    account: str
    currency: str
    type: str
    balance: int
    debit_balance: int
    postings: int
    as_of: date | None = None
    through_entry_id: int | None = None
    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class StatementLine:
    """One posting of a statement: ``amount`` debit-positive, ``running_balance`` the account's normal balance
    after it in effective-date order (ties by entry id, then leg); ``hold_id`` the hold whose capture posted the
    line's entry (None for any other entry)."""

    effective_date: date
    entry_id: int
    leg: int
    description: str | None
    amount: int
    running_balance: int
    recorded_at: datetime
    reverses_entry_id: int | None = None
    hold_id: int | None = None


@dataclass(frozen=True)
class StatementHold:
    """A hold of a statement's account that matters to its period (placed by the period's end, not resolved by
    its start), in its state at the period's end: ``status`` pending, captured, voided or expired (an expiry
    counts from ``expires_at``, recorded by the sweeper or not), ``resolved_at`` when (None while pending).
    ``amount`` is the hold's amount on this account, debit-positive like a line's; a captured hold has the
    capture's ``entry_id`` and ``captured_amount``, what the capture posted on this account (debit-positive)."""

    hold_id: int
    idempotency_key: str
    description: str | None
    effective_date: date
    recorded_at: datetime
    expires_at: datetime | None
    amount: int
    status: str
    resolved_at: datetime | None = None
    entry_id: int | None = None
    captured_amount: int | None = None


@dataclass(frozen=True)
class StatementPage:
    """One page of an account's statement between two effective dates (both included). ``opening_balance`` is
    the normal balance dated before ``date_from``, ``closing_balance`` the one dated up to ``date_to`` (the same
    on every page); ``next_cursor`` is None on the last page. ``holds``: the account's holds that matter to the
    period (:class:`StatementHold`), on the first page only (None on the pages after it); ``pending_debit`` and
    ``pending_credit``: what its holds outstanding at the period's end (midnight UTC after ``date_to``, or now if
    that is earlier) reserve on each side, the same on every page."""

    account: str
    currency: str
    type: str
    date_from: date
    date_to: date
    opening_balance: int
    closing_balance: int
    lines: list[StatementLine]
    next_cursor: str | None
    holds: list[StatementHold] | None = None
    pending_debit: int = 0
    pending_credit: int = 0
    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class TrialBalanceRow:
    """Per currency: total debit balances, total credit balances (both ≥ 0), net (0 in balanced books) and the
    number of accounts with postings."""

    currency: str
    debits: int
    credits: int
    net: int
    accounts: int


@dataclass(frozen=True)
class TrialBalance:
    """The trial balance of a book as of an effective date."""

    book: str
    as_of: date
    rows: list[TrialBalanceRow]
    snapshot: Snapshot | None = None

    @property
    def balanced(self) -> bool:
        """Debits equal credits in every currency."""
        return all(r.debits == r.credits and r.net == 0 for r in self.rows)


@dataclass(frozen=True)
class MonthEndRow:
    """Per account: opening normal balance, debits and credits dated in the period (sums of legs, ≥ 0), the
    closing normal balance, and the legs of its holds outstanding at the period's end, per side (≥ 0). The rows
    are the accounts with postings dated up to the period's last day or holds outstanding at its end."""

    account: str
    currency: str
    type: str
    opening: int
    debits: int
    credits: int
    closing: int
    pending_debit: int = 0
    pending_credit: int = 0


@dataclass(frozen=True)
class MonthEndReport:
    """The month-end report of a book for a period of effective dates. ``final``: the period is closed, so the
    report can no longer change; ``closed_through`` is the book's close date (None: nothing closed)."""

    book: str
    date_from: date
    date_through: date
    final: bool
    closed_through: date | None
    rows: list[MonthEndRow]
    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class PeriodClose:
    """What close_period returned: the close date, when it was closed, how many accounts got a checkpoint, and
    whether this call closed it (False: it was already closed through that date; nothing changed)."""

    book: str
    through_date: date
    closed_at: datetime
    accounts: int
    created: bool
    attempts: int = field(default=1, compare=False)


# --- calls ------------------------------------------------------------------------------------------
def _first(rows: list[Any]) -> Any:
    return rows[0]


def balance_as_of(account: str, as_of: date, *, book: str = "default") -> Call[BalanceAsOf]:
    return Call(
        "SELECT account, currency, type, balance, debit_balance, postings, as_of FROM ledger.balance_as_of(%s, %s, %s)",
        (account, as_of, book),
        _first,
        write=False,
        row_factory=class_row(BalanceAsOf),
    )


def balance_as_recorded(
    account: str, *, entry_id: int | None = None, recorded_at: datetime | None = None, book: str = "default"
) -> Call[BalanceAsOf]:
    return Call(
        "SELECT account, currency, type, balance, debit_balance, postings, through_entry_id "
        "FROM ledger.balance_as_recorded(%s, %s, %s, %s)",
        (account, entry_id, recorded_at, book),
        _first,
        write=False,
        row_factory=class_row(BalanceAsOf),
    )


def _statement(rows: list[dict[str, Any]]) -> StatementPage:
    row = dict(rows[0])
    lines = [
        StatementLine(
            effective_date=date.fromisoformat(x["effective_date"]),
            entry_id=x["entry_id"],
            leg=x["leg"],
            description=x["description"],
            amount=x["amount"],
            running_balance=x["running_balance"],
            recorded_at=datetime.fromisoformat(x["recorded_at"]),
            reverses_entry_id=x["reverses_entry_id"],
            hold_id=x["hold_id"],
        )
        for x in row.pop("lines")
    ]
    raw = row.pop("holds")
    holds = None if raw is None else [_statement_hold(h) for h in raw]
    return StatementPage(**row, lines=lines, holds=holds)


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _statement_hold(x: dict[str, Any]) -> StatementHold:
    return StatementHold(
        hold_id=x["hold_id"],
        idempotency_key=x["idempotency_key"],
        description=x["description"],
        effective_date=date.fromisoformat(x["effective_date"]),
        recorded_at=datetime.fromisoformat(x["recorded_at"]),
        expires_at=_optional_time(x["expires_at"]),
        amount=x["amount"],
        status=x["status"],
        resolved_at=_optional_time(x["resolved_at"]),
        entry_id=x["entry_id"],
        captured_amount=x["captured_amount"],
    )


def statement(
    account: str,
    date_from: date,
    date_to: date,
    *,
    cursor: str | None = None,
    limit: int = 100,
    book: str = "default",
) -> Call[StatementPage]:
    return Call(
        "SELECT account, currency, type, date_from, date_to, opening_balance, closing_balance, lines, next_cursor, "
        "holds, pending_debit, pending_credit FROM ledger.statement(%s, %s, %s, %s, %s, %s)",
        (account, date_from, date_to, cursor, limit, book),
        _statement,
        write=False,
        row_factory=dict_row,
    )


def trial_balance_as_of(as_of: date, *, book: str = "default") -> Call[TrialBalance]:
    def parse(rows: list[tuple[Any, ...]]) -> TrialBalance:
        return TrialBalance(
            book=book,
            as_of=as_of,
            rows=[TrialBalanceRow(r[0], _exact_int(r[1]), _exact_int(r[2]), _exact_int(r[3]), r[4]) for r in rows],
        )

    return Call(
        "SELECT currency, debits, credits, net, accounts FROM ledger.trial_balance_as_of(%s, %s)",
        (as_of, book),
        parse,
        write=False,
    )


def month_end_report(date_from: date, date_through: date, *, book: str = "default") -> Call[MonthEndReport]:
    def parse(rows: list[dict[str, Any]]) -> MonthEndReport:
        row = rows[0]
        closed = row["closed_through"]
        return MonthEndReport(
            book=book,
            date_from=date_from,
            date_through=date_through,
            final=closed is not None and date_through <= closed,
            closed_through=closed,
            rows=[
                MonthEndRow(
                    account=r["account"],
                    currency=r["currency"],
                    type=r["type"],
                    opening=_exact_int(r["opening"]),
                    debits=_exact_int(r["debits"]),
                    credits=_exact_int(r["credits"]),
                    closing=_exact_int(r["closing"]),
                    pending_debit=_exact_int(r.get("pending_debit") or 0),
                    pending_credit=_exact_int(r.get("pending_credit") or 0),
                )
                for r in row["rows"]
            ],
        )

    # One statement, so the close date and the rows come from one snapshot (and an empty period still says it).
    return Call(
        "SELECT ledger.closed_through(%s) AS closed_through, "
        "coalesce((SELECT jsonb_agg(to_jsonb(r) ORDER BY r.currency, r.account) "
        "FROM ledger.month_end_report(%s, %s, %s) AS r), '[]'::jsonb) AS rows",
        (book, date_from, date_through, book),
        parse,
        write=False,
        row_factory=dict_row,
    )


def close_period(through_date: date, *, book: str = "default") -> Call[PeriodClose]:
    return Call(
        "SELECT book, through_date, closed_at, accounts, created FROM ledger.close_period(%s, %s)",
        (through_date, book),
        _first,
        write=True,
        row_factory=class_row(PeriodClose),
    )


def closed_through(*, book: str = "default") -> Call[date | None]:
    return Call("SELECT ledger.closed_through(%s)", (book,), lambda rows: rows[0][0], write=False)


# --- exports ----------------------------------------------------------------------------------------
Report = StatementPage | Sequence[StatementLine] | TrialBalance | MonthEndReport

_STATEMENT_COLUMNS = [
    "effective_date",
    "entry_id",
    "leg",
    "description",
    "amount",
    "running_balance",
    "recorded_at",
    "hold_id",
]
_TRIAL_COLUMNS = ["currency", "debits", "credits", "net", "accounts"]
_MONTH_END_COLUMNS = [
    "account",
    "currency",
    "type",
    "opening",
    "debits",
    "credits",
    "closing",
    "pending_debit",
    "pending_credit",
]


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _table(report: Report) -> tuple[list[str], list[dict[str, Any]]]:
    if isinstance(report, TrialBalance):
        return _TRIAL_COLUMNS, [vars(r) for r in report.rows]
    if isinstance(report, MonthEndReport):
        return _MONTH_END_COLUMNS, [vars(r) for r in report.rows]
    lines = report.lines if isinstance(report, StatementPage) else report
    return _STATEMENT_COLUMNS, [vars(x) for x in lines]


def to_csv(report: Report) -> str:
    """The report's rows as CSV with a header line; amounts are integers of minor units."""
    columns, rows = _table(report)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _plain(v) for k, v in row.items()})
    return out.getvalue()


def to_json(report: Report) -> str:
    """The report as a JSON document: its header fields and its rows (``lines`` for a statement, and its
    ``holds``); amounts are integers of minor units, dates ISO 8601."""
    columns, rows = _table(report)
    body: dict[str, Any]
    if isinstance(report, (StatementPage, TrialBalance, MonthEndReport)):
        body = {k: _plain(v) for k, v in vars(report).items() if k not in ("rows", "lines", "holds", "snapshot")}
        if isinstance(report, StatementPage):
            holds = report.holds
            body["holds"] = None if holds is None else [{k: _plain(v) for k, v in vars(h).items()} for h in holds]
        if report.snapshot is not None:
            body["snapshot"] = {k: _plain(v) for k, v in vars(report.snapshot).items()}
    else:
        body = {}
    key = "lines" if not isinstance(report, (TrialBalance, MonthEndReport)) else "rows"
    body[key] = [{c: _plain(r[c]) for c in columns} for r in rows]
    return json.dumps(body, ensure_ascii=False, indent=2)


Stamped = TypeVar("Stamped", BalanceAsOf, StatementPage, TrialBalance, MonthEndReport)


def stamped(read: tuple[Stamped, Snapshot]) -> Stamped:
    """A report read with ``Ledger.read``: the result with the snapshot it reflects in its ``snapshot`` field."""
    result, snapshot = read
    return replace(result, snapshot=snapshot)
