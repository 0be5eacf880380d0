"""Reads: `balance`, `entry`, `trial-balance`, and `check` (every invariant recomputed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dualbook.calls import Entry
from dualbook.cli.accounts import balance_json
from dualbook.cli.common import ENTRY_ID, EXIT_FAILED, datadir_option, handle_errors, ledger_options, open_ledger
from dualbook.cli.output import Col, RawJSON, amount, amount_fields, echo, echo_json, print_fields, print_table
from dualbook.ledger import Ledger


# --- reads --------------------------------------------------------------------------------------------------
@click.command()
@click.argument("account_code", metavar="ACCOUNT")
@ledger_options
@handle_errors
def balance(account_code: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Print an account's balance in major units.

    The balance is the account's normal balance: debit-positive for assets and expenses, credit-positive for
    liabilities, equity and income.

    \b
    Example:
        dualbook balance wallet:1
        dualbook balance wallet:1 --json | jq .balance
    """
    with open_ledger(datadir, book, "reader") as ledger:
        b = ledger.get_balance(account_code)
    if as_json:
        echo_json(balance_json(b, book))
    else:
        closed = " (closed)" if b.status != "open" else ""
        echo(f"{b.code}: {amount(b.balance, b.exponent)} {b.currency}{closed}")


def _entry_json(ledger: Ledger, e: Entry, book: str) -> dict[str, Any]:
    legs = []
    for leg in e.legs:
        exponent = ledger.exponent(leg.currency)
        legs.append(
            {
                "leg": leg.leg,
                "account": leg.account,
                "currency": leg.currency,
                "side": "debit" if leg.amount > 0 else "credit",
                **amount_fields("amount", leg.amount, exponent),
                "account_seq": leg.account_seq,
                **amount_fields("balance_after", leg.balance_after, exponent),
            }
        )
    return {
        "book": book,
        "entry_id": e.entry_id,
        "key": e.idempotency_key,
        "description": e.description,
        "metadata": e.metadata if e.metadata is not None else RawJSON(e.metadata_text),
        "effective_date": e.effective_date,
        "recorded_at": e.recorded_at,
        "reverses_entry_id": e.reverses_entry_id,
        "reversed_by_entry_id": e.reversed_by_entry_id,
        "legs": legs,
    }


def _metadata_line(e: Entry) -> str | None:
    if e.metadata is None:
        return f"(nested too deeply to show here: {len(e.metadata_text.encode())} bytes of JSON; --json prints it)"
    return json.dumps(e.metadata, ensure_ascii=False) if e.metadata else None


@click.command()
@click.argument("entry_id", type=ENTRY_ID, required=False)
@click.option("--key", default=None, help="Find the entry by its idempotency key instead of its id.")
@ledger_options
@handle_errors
def entry(entry_id: int | None, key: str | None, book: str, datadir: Path | None, as_json: bool) -> None:
    """Show an entry and its legs, by id or by idempotency key.

    Amounts are debit-positive; 'Balance after' is the account's normal balance after the leg.

    \b
    Example:
        dualbook entry 42
        dualbook entry --key topup:1 --json
    """
    if (entry_id is None) == (key is None):
        raise click.UsageError("give exactly one of ENTRY_ID or --key")
    with open_ledger(datadir, book, "reader") as ledger:
        e = ledger.get_entry(entry_id, key=key)
        if as_json:
            echo_json(_entry_json(ledger, e, book))
            return
        print_fields(
            [
                ("Entry", e.entry_id),
                ("Key", e.idempotency_key),
                ("Book", book),
                ("Description", e.description),
                ("Effective date", e.effective_date.isoformat()),
                ("Recorded at", e.recorded_at.isoformat()),
                ("Metadata", _metadata_line(e)),
                ("Reverses", e.reverses_entry_id),
                ("Reversed by", e.reversed_by_entry_id),
            ]
        )
        click.echo()
        rows = []
        for leg in e.legs:
            exponent = ledger.exponent(leg.currency)
            rows.append(
                (
                    leg.leg,
                    leg.account,
                    amount(leg.amount, exponent) if leg.amount > 0 else None,
                    amount(-leg.amount, exponent) if leg.amount < 0 else None,
                    leg.currency,
                    amount(leg.balance_after, exponent),
                )
            )
        print_table(
            [
                Col("Leg", right=True),
                Col("Account"),
                Col("Debit", right=True),
                Col("Credit", right=True),
                Col("Currency"),
                Col("Balance after", right=True),
            ],
            rows,
        )


@click.command("trial-balance")
@ledger_options
@handle_errors
def trial_balance(book: str, datadir: Path | None, as_json: bool) -> None:
    """Debit and credit totals per currency (net is 0 in balanced books).

    \b
    Example:
        dualbook trial-balance
        dualbook trial-balance --book emea --json
    """
    with open_ledger(datadir, book, "reader") as ledger:
        rows = [(cur, ledger.exponent(cur), d, c, n) for cur, d, c, n in ledger.trial_balance()]
    if as_json:
        echo_json(
            [
                {
                    "book": book,
                    "currency": cur,
                    **amount_fields("debits", d, exp),
                    **amount_fields("credits", c, exp),
                    **amount_fields("net", n, exp),
                }
                for cur, exp, d, c, n in rows
            ]
        )
        return
    if not rows:
        click.echo("no accounts")
        return
    print_table(
        [Col("Currency"), Col("Debits", right=True), Col("Credits", right=True), Col("Net", right=True)],
        [(cur, amount(d, exp), amount(c, exp), amount(n, exp)) for cur, exp, d, c, n in rows],
    )


@click.command()
@datadir_option
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"ok": bool, "violations": [...]}.')
@handle_errors
def check(datadir: Path | None, as_json: bool) -> None:
    """Check every invariant of every book; exit 1 if any is broken.

    Recomputes every invariant from the raw postings (per-currency sums, balanced entries, running
    balances, limits, ...) in one read; it reads everything, so run it off-peak on big ledgers.

    \b
    Example:
        dualbook check && echo "books balance"
        dualbook check --json
    """
    with open_ledger(datadir, "default", "reader") as ledger:
        violations = ledger.books_check()
    if as_json:
        echo_json(
            {
                "ok": not violations,
                "violations": [
                    {"check": v.check_name, "book": v.book, "subject": v.subject, "detail": v.detail}
                    for v in violations
                ],
            }
        )
    elif not violations:
        click.echo("ok: every invariant holds")
    else:
        print_table(
            [Col("Check"), Col("Book"), Col("Subject"), Col("Detail")],
            [(v.check_name, v.book, v.subject, v.detail) for v in violations],
        )
        echo(f"{len(violations)} violation(s)")
    if violations:
        sys.exit(EXIT_FAILED)
