"""Reports by effective date (`report balance|statement|trial-balance|month-end`) and period close (`period close`,
`period status`). Every report prints a table, or --json (amounts as integers of minor units plus *_formatted
strings), or --csv (the adapter's export: integers of minor units)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg

from dualbook import reports
from dualbook.cli.common import ENTRY_ID, book_option, datadir_option, handle_errors, ledger_options, open_ledger
from dualbook.cli.output import Col, amount, amount_fields, echo, echo_json, print_fields, print_table
from dualbook.db import backup
from dualbook.db.backup import RestorePoint, backup_dir
from dualbook.db.config import resolve
from dualbook.ledger import Ledger
from dualbook.results import Snapshot

F = TypeVar("F", bound=Callable[..., Any])

DATE = click.DateTime(formats=["%Y-%m-%d"])


def _date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _snapshot(s: Snapshot | None) -> dict[str, Any] | None:
    """What a report reflects, for --json: the WAL position, the server that answered, the last commit's time."""
    if s is None:
        return None
    return {"lsn": s.lsn, "source": s.source, "at": s.at.isoformat() if s.at else None}


def _reflects(s: Snapshot | None) -> None:
    """What a report reflects, under the human-readable output (stderr, so pipes get the table alone)."""
    if s is not None:
        at = f", last commit {s.at:%Y-%m-%d %H:%M:%S%z}" if s.at else ""
        click.echo(f"read on the {s.source} at WAL {s.lsn}{at}", err=True)


def report_options(func: F) -> F:
    """--book, --datadir, --json and --csv: the options of every report."""
    func = click.option("--csv", "as_csv", is_flag=True, help="Print CSV: amounts as integers of minor units.")(func)
    return ledger_options(func)


def _pick_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise click.UsageError("give at most one of --json and --csv")


@click.group()
def report() -> None:
    """Reports by effective date: balance as of a date, statement, trial balance, month-end report.

    The effective date is the business date an entry is for (it may be backdated); reports sum the postings by
    it, whatever order they were recorded in. They only read, so they also run on a read replica.

    \b
    Example:
        dualbook report balance wallet:1 --as-of 2024-01-31
        dualbook report statement wallet:1 --from 2024-01-01 --to 2024-01-31 --csv > jan.csv
        dualbook report month-end 2024-01 --json
    """


@report.command("balance")
@click.argument("account_code", metavar="ACCOUNT")
@click.option("--as-of", "as_of", type=DATE, default=None, help="Effective date (YYYY-MM-DD), included.")
@click.option("--entry", "entry_id", type=ENTRY_ID, default=None, help="As recorded: the entries up to this id.")
@report_options
@handle_errors
def report_balance(
    account_code: str,
    as_of: datetime | None,
    entry_id: int | None,
    book: str,
    datadir: Path | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """An account's balance as of an effective date, or as recorded up to an entry id.

    \b
    Example:
        dualbook report balance bank --as-of 2024-03-31
        dualbook report balance bank --entry 1200 --json
    """
    _pick_format(as_json, as_csv)
    if (as_of is None) == (entry_id is None):
        raise click.UsageError("give exactly one of --as-of and --entry")
    with open_ledger(datadir, book, "reader") as ledger:
        if as_of is not None:
            b = ledger.balance_as_of(account_code, as_of.date())
        else:
            b = ledger.balance_as_recorded(account_code, entry_id=entry_id)
        exp = ledger.exponent(b.currency)
    doc = {
        "book": book,
        "account": b.account,
        "currency": b.currency,
        "as_of": b.as_of.isoformat() if b.as_of else None,
        "through_entry_id": b.through_entry_id,
        **amount_fields("balance", b.balance, exp),
        "postings": b.postings,
        "snapshot": _snapshot(b.snapshot),
    }
    if as_json:
        echo_json(doc)
    elif as_csv:
        click.echo("account,currency,as_of,through_entry_id,balance,postings")
        click.echo(f"{b.account},{b.currency},{doc['as_of'] or ''},{b.through_entry_id or ''},{b.balance},{b.postings}")
    else:
        when = f"as of {b.as_of}" if b.as_of else f"through entry {entry_id}"
        echo(f"{b.account}: {amount(b.balance, exp)} {b.currency} {when} ({b.postings} postings)")
        _reflects(b.snapshot)


@report.command("statement")
@click.argument("account_code", metavar="ACCOUNT")
@click.option("--from", "date_from", type=DATE, required=True, help="First effective date (YYYY-MM-DD).")
@click.option("--to", "date_to", type=DATE, required=True, help="Last effective date (YYYY-MM-DD), included.")
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="One page of this many lines.")
@click.option("--cursor", default=None, help="The page after this cursor (printed by the previous page).")
@report_options
@handle_errors
def report_statement(
    account_code: str,
    date_from: datetime,
    date_to: datetime,
    limit: int | None,
    cursor: str | None,
    book: str,
    datadir: Path | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """An account's statement: opening balance, postings in effective-date order with the running balance,
    closing balance, and the account's holds.

    Without --limit every line is printed (read page by page); with --limit one page, and its next cursor.
    A line a capture posted names its hold. The holds listed are those placed by the end of the period and not
    resolved before its start, each in its state at the end (pending, captured, voided, expired; times in
    UTC); the pending debits and credits are what the holds still pending then reserve. The first page has the
    holds (with --cursor: none).

    \b
    Example:
        dualbook report statement wallet:1 --from 2024-01-01 --to 2024-01-31
        dualbook report statement wallet:1 --from 2024-01-01 --to 2024-12-31 --limit 100 --json
    """
    _pick_format(as_json, as_csv)
    with open_ledger(datadir, book, "reader") as ledger:
        if limit is not None or cursor is not None:
            pages = [
                ledger.statement(account_code, date_from.date(), date_to.date(), cursor=cursor, limit=limit or 100)
            ]
        else:
            pages = list(ledger.statement_pages(account_code, date_from.date(), date_to.date(), limit=1000))
        exp = ledger.exponent(pages[0].currency)
    first, last = pages[0], pages[-1]
    lines = [x for p in pages for x in p.lines]
    if as_csv:
        click.echo(reports.to_csv(lines), nl=False)
        return
    if as_json:
        echo_json(
            {
                "book": book,
                "account": first.account,
                "currency": first.currency,
                "from": first.date_from.isoformat(),
                "to": first.date_to.isoformat(),
                "snapshot": _snapshot(last.snapshot),
                **amount_fields("opening_balance", first.opening_balance, exp),
                **amount_fields("closing_balance", first.closing_balance, exp),
                "lines": [
                    {
                        "effective_date": x.effective_date.isoformat(),
                        "entry_id": x.entry_id,
                        "leg": x.leg,
                        "description": x.description,
                        **amount_fields("amount", x.amount, exp),
                        **amount_fields("running_balance", x.running_balance, exp),
                        "recorded_at": x.recorded_at.isoformat(),
                        "hold_id": x.hold_id,
                    }
                    for x in lines
                ],
                "next_cursor": last.next_cursor,
                **amount_fields("pending_debit", first.pending_debit, exp),
                **amount_fields("pending_credit", first.pending_credit, exp),
                "holds": None if first.holds is None else [_hold_json(h, exp) for h in first.holds],
            }
        )
        return
    print_fields(
        [
            ("Account", f"{first.account} ({first.currency})"),
            ("Period", f"{first.date_from} .. {first.date_to}"),
            ("Opening", amount(first.opening_balance, exp)),
            ("Closing", amount(first.closing_balance, exp)),
            ("Pending debits", amount(first.pending_debit, exp)),
            ("Pending credits", amount(first.pending_credit, exp)),
        ]
    )
    click.echo()
    print_table(
        [
            Col("Date"),
            Col("Entry", right=True),
            Col("Description"),
            Col("Debit", right=True),
            Col("Credit", right=True),
            Col("Balance", right=True),
            Col("Hold", right=True),
        ],
        [
            (
                x.effective_date.isoformat(),
                x.entry_id,
                x.description,
                amount(x.amount, exp) if x.amount > 0 else None,
                amount(-x.amount, exp) if x.amount < 0 else None,
                amount(x.running_balance, exp),
                x.hold_id,
            )
            for x in lines
        ],
    )
    if first.holds is not None:
        _print_holds(first.holds, exp)
    if last.next_cursor:
        echo(f"next page: --cursor {last.next_cursor}")
    _reflects(last.snapshot)


def _hold_json(h: reports.StatementHold, exp: int) -> dict[str, Any]:
    return {
        "hold_id": h.hold_id,
        "key": h.idempotency_key,
        "description": h.description,
        "effective_date": h.effective_date.isoformat(),
        "recorded_at": h.recorded_at.isoformat(),
        "expires_at": h.expires_at.isoformat() if h.expires_at else None,
        **amount_fields("amount", h.amount, exp),
        "status": h.status,
        "resolved_at": h.resolved_at.isoformat() if h.resolved_at else None,
        "entry_id": h.entry_id,
        **amount_fields("captured_amount", h.captured_amount, exp),
    }


def _utc(t: datetime | None) -> str | None:
    return None if t is None else f"{t.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def _print_holds(holds: list[reports.StatementHold], exp: int) -> None:
    """The statement's holds, in their state at the period's end (debit/credit: this account's side)."""
    click.echo()
    if not holds:
        click.echo("Holds: none")
        return
    click.echo("Holds (state at the end of the period):")
    print_table(
        [
            Col("Hold", right=True),
            Col("Key"),
            Col("Placed"),
            Col("Expires"),
            Col("Debit", right=True),
            Col("Credit", right=True),
            Col("Status"),
            Col("Resolved"),
            Col("Entry", right=True),
            Col("Captured", right=True),
        ],
        [
            (
                h.hold_id,
                h.idempotency_key,
                _utc(h.recorded_at),
                _utc(h.expires_at),
                amount(h.amount, exp) if h.amount > 0 else None,
                amount(-h.amount, exp) if h.amount < 0 else None,
                h.status,
                _utc(h.resolved_at),
                h.entry_id,
                amount(abs(h.captured_amount), exp) if h.captured_amount is not None else None,
            )
            for h in holds
        ],
    )


def _exponents(ledger: Ledger, currencies: set[str]) -> dict[str, int]:
    return {c: ledger.exponent(c) for c in currencies}


@report.command("trial-balance")
@click.option("--as-of", "as_of", type=DATE, required=True, help="Effective date (YYYY-MM-DD), included.")
@report_options
@handle_errors
def report_trial_balance(as_of: datetime, book: str, datadir: Path | None, as_json: bool, as_csv: bool) -> None:
    """Debit and credit balances per currency as of an effective date (debits equal credits).

    \b
    Example:
        dualbook report trial-balance --as-of 2024-03-31
        dualbook report trial-balance --as-of 2024-03-31 --csv
    """
    _pick_format(as_json, as_csv)
    with open_ledger(datadir, book, "reader") as ledger:
        tb = ledger.trial_balance_as_of(as_of.date())
        exps = _exponents(ledger, {r.currency for r in tb.rows})
    if as_csv:
        click.echo(reports.to_csv(tb), nl=False)
    elif as_json:
        echo_json(
            {
                "book": book,
                "as_of": tb.as_of.isoformat(),
                "snapshot": _snapshot(tb.snapshot),
                "rows": [
                    {
                        "currency": r.currency,
                        **amount_fields("debits", r.debits, exps[r.currency]),
                        **amount_fields("credits", r.credits, exps[r.currency]),
                        **amount_fields("net", r.net, exps[r.currency]),
                        "accounts": r.accounts,
                    }
                    for r in tb.rows
                ],
            }
        )
    elif not tb.rows:
        click.echo(f"no postings dated up to {tb.as_of}")
    else:
        print_table(
            [Col("Currency"), Col("Debits", right=True), Col("Credits", right=True), Col("Net", right=True)],
            [
                (
                    r.currency,
                    amount(r.debits, exps[r.currency]),
                    amount(r.credits, exps[r.currency]),
                    amount(r.net, exps[r.currency]),
                )
                for r in tb.rows
            ],
        )
        _reflects(tb.snapshot)


def _month(text: str) -> tuple[date, date]:
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a month (YYYY-MM)", param_hint="MONTH") from None
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


@report.command("month-end")
@click.argument("month", required=False)
@click.option("--from", "date_from", type=DATE, default=None, help="First effective date instead of a MONTH.")
@click.option("--through", "date_through", type=DATE, default=None, help="Last effective date instead of a MONTH.")
@report_options
@handle_errors
def report_month_end(
    month: str | None,
    date_from: datetime | None,
    date_through: datetime | None,
    book: str,
    datadir: Path | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Per account: opening, debits, credits and closing for a month (YYYY-MM) or --from/--through, and the
    pending debits and credits at the period's end.

    The pending amounts are what the account's holds outstanding at the end of the period reserve on each side:
    holds placed by then and neither captured, voided nor expired by then. The end is midnight UTC after the
    last date, or now for a period that has not ended yet. The report lists the accounts with a posting dated up
    to the last date or holds outstanding at the end.

    The report is final once the period is closed (`dualbook period close`); until then a backdated entry can
    still change it.

    \b
    Example:
        dualbook report month-end 2024-01
        dualbook report month-end --from 2024-01-01 --through 2024-03-31 --csv > q1.csv
    """
    _pick_format(as_json, as_csv)
    if month is not None:
        if date_from is not None or date_through is not None:
            raise click.UsageError("give a MONTH or --from and --through, not both")
        lo, hi = _month(month)
    elif date_from is None or date_through is None:
        raise click.UsageError("give a MONTH (YYYY-MM) or both --from and --through")
    else:
        lo, hi = date_from.date(), date_through.date()
    with open_ledger(datadir, book, "reader") as ledger:
        me = ledger.month_end_report(lo, hi)
        exps = _exponents(ledger, {r.currency for r in me.rows})
    if as_csv:
        click.echo(reports.to_csv(me), nl=False)
        return
    if as_json:
        echo_json(
            {
                "book": book,
                "from": lo.isoformat(),
                "through": hi.isoformat(),
                "final": me.final,
                "snapshot": _snapshot(me.snapshot),
                "closed_through": me.closed_through.isoformat() if me.closed_through else None,
                "rows": [
                    {
                        "account": r.account,
                        "currency": r.currency,
                        "type": r.type,
                        **{
                            k: v
                            for name in ("opening", "debits", "credits", "closing", "pending_debit", "pending_credit")
                            for k, v in amount_fields(name, getattr(r, name), exps[r.currency]).items()
                        },
                    }
                    for r in me.rows
                ],
            }
        )
        return
    print_fields([("Period", f"{lo} .. {hi}"), ("Final", "yes (closed)" if me.final else "no (period open)")])
    click.echo()
    print_table(
        [
            Col("Account"),
            Col("Currency"),
            Col("Opening", right=True),
            Col("Debits", right=True),
            Col("Credits", right=True),
            Col("Closing", right=True),
            Col("Pending debits", right=True),
            Col("Pending credits", right=True),
        ],
        [
            (
                r.account,
                r.currency,
                amount(r.opening, exps[r.currency]),
                amount(r.debits, exps[r.currency]),
                amount(r.credits, exps[r.currency]),
                amount(r.closing, exps[r.currency]),
                amount(r.pending_debit, exps[r.currency]),
                amount(r.pending_credit, exps[r.currency]),
            )
            for r in me.rows
        ],
    )
    _reflects(me.snapshot)


@click.group()
def period() -> None:
    """Period close: lock every effective date up to a day.

    \b
    Example:
        dualbook period close 2024-01-31
        dualbook period status
    """


@period.command("close")
@click.argument("through", type=DATE, metavar="DATE")
@click.option(
    "--restore-point/--no-restore-point",
    default=True,
    show_default=True,
    help="After the close commits, create the named restore point dualbook-close-<book>-<DATE> (as the migrator).",
)
@ledger_options
@handle_errors
def period_close(through: datetime, restore_point: bool, book: str, datadir: Path | None, as_json: bool) -> None:
    """Close the book through DATE (YYYY-MM-DD, before today UTC).

    Entries and reversals dated on or before DATE are refused from now on; a reversal of an entry in the closed
    period is dated in the first open day. Closing through the current close date again changes nothing;
    an earlier date is refused. Runs as the application role (an administrator's operation).

    Once the close has committed, it creates a named restore point, dualbook-close-<book>-<DATE>, so that
    `dualbook db restore --to <that name>` brings back the books exactly as closed (docs/operations.md). That
    runs as the migrator (DUALBOOK_MIGRATOR_URL; the embedded cluster's superuser), which needs EXECUTE on
    pg_create_restore_point; when it cannot, the close stands and a warning says why.

    \b
    Example:
        dualbook period close 2024-01-31
    """
    with open_ledger(datadir, book, "app") as ledger:
        r = ledger.close_period(through.date())
    point = _restore_point(datadir, r.book, r.through_date) if restore_point and r.created else None
    if as_json:
        echo_json(
            {
                "book": r.book,
                "through_date": r.through_date.isoformat(),
                "closed_at": r.closed_at.isoformat(),
                "accounts": r.accounts,
                "created": r.created,
                "restore_point": point.as_json() if point is not None else None,
            }
        )
    elif r.created:
        echo(f"book {r.book} closed through {r.through_date} ({r.accounts} account checkpoints)")
    else:
        echo(f"book {r.book} was already closed through {r.through_date}")


def _restore_point(datadir: Path | None, book: str, through: date) -> RestorePoint | None:
    """The close's restore point, after its commit (a restore point is written to WAL at once, so one made
    inside the closing transaction would come before the close's own commit); None, with a warning, when the
    migrator may not create one."""
    target = resolve(datadir)
    name = backup.restore_point_name(book, through)
    try:
        if target.embedded is not None:
            point = backup.Backups.of(target.embedded, backup_dir()).create_restore_point(name)
        else:
            point = backup.create_restore_point(target.url_for("migrator"), name)
    except psycopg.Error as exc:
        reason = " ".join((exc.diag.message_primary or str(exc)).split())
        click.echo(
            f"dualbook: warning: the period is closed, but no restore point was created: {reason} (hint: GRANT "
            "EXECUTE ON FUNCTION pg_create_restore_point(text) TO the migrator role, see docs/operations.md)",
            err=True,
        )
        return None
    click.echo(f"restore point {point.name} at WAL {backup.format_lsn(point.lsn)}", err=True)
    return point


@period.command("status")
@book_option
@datadir_option
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"book", "closed_through"}.')
@handle_errors
def period_status(book: str, datadir: Path | None, as_json: bool) -> None:
    """The date the book is closed through.

    \b
    Example:
        dualbook period status --json
    """
    with open_ledger(datadir, book, "reader") as ledger:
        closed = ledger.closed_through()
    if as_json:
        echo_json({"book": book, "closed_through": closed.isoformat() if closed else None})
    else:
        echo(f"book {book}: " + (f"closed through {closed}" if closed else "no period closed"))
    sys.stdout.flush()
