"""`dualbook hold`, `dualbook capture` and `dualbook void`: two-phase postings from the command line."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from dualbook.calls import Leg
from dualbook.cli.common import ENTRY_ID, handle_errors, json_object, ledger_options, open_ledger, parse_major
from dualbook.cli.entries import _accounts
from dualbook.cli.output import Col, amount, amount_fields, echo, echo_json, print_table
from dualbook.ledger import Ledger


def _available(ledger: Ledger, codes: Sequence[str]) -> list[dict[str, Any]]:
    """Posted, pending and available balances of the given accounts, in code order."""
    rows = []
    for code in sorted(set(codes)):
        a = ledger.get_available(code)
        e = ledger.exponent(a.currency)
        rows.append(
            {
                "account": a.code,
                "currency": a.currency,
                **amount_fields("balance", a.balance, e),
                **amount_fields("pending_debit", a.pending_debit, e),
                **amount_fields("pending_credit", a.pending_credit, e),
                **amount_fields("available", a.available, e),
            }
        )
    return rows


def _print_available(rows: list[dict[str, Any]]) -> None:
    print_table(
        [
            Col("Account"),
            Col("Posted", right=True),
            Col("Pending Dr", right=True),
            Col("Pending Cr", right=True),
            Col("Available", right=True),
            Col("Currency"),
        ],
        [
            (
                r["account"],
                r["balance_formatted"],
                r["pending_debit_formatted"],
                r["pending_credit_formatted"],
                r["available_formatted"],
                r["currency"],
            )
            for r in rows
        ],
    )


@click.command()
@click.option("--debit", "debits", nargs=2, multiple=True, metavar="ACCOUNT AMOUNT", help="A debit leg. Repeatable.")
@click.option("--credit", "credits", nargs=2, multiple=True, metavar="ACCOUNT AMOUNT", help="A credit leg. Repeatable.")
@click.option("--key", default=None, help="Idempotency key (default: a new 'cli:hold:<uuid>', printed).")
@click.option("--description", default=None, help="Free text, up to 1000 characters.")
@click.option("--metadata", callback=json_object, default=None, metavar="JSON", help="A JSON object stored with it.")
@click.option(
    "--expires-in",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Release the hold this many seconds from now unless captured or voided (default: never).",
)
@ledger_options
@handle_errors
def hold(
    debits: Sequence[tuple[str, str]],
    credits: Sequence[tuple[str, str]],
    key: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    expires_in: int | None,
    book: str,
    datadir: Path | None,
    as_json: bool,
) -> None:
    """Reserve a balanced entry without posting it (a hold, e.g. a card authorisation).

    The legs are given as in `post` (AMOUNT in major units). The amounts are reserved: each account's
    available balance (posted balance minus what its holds would take away) must stay within its limits,
    for holds and ordinary postings alike. Capture it with `capture`, release it with `void`; with
    --expires-in it is released by itself when the time has passed.

    \b
    Example:
        dualbook hold --key auth:1 --debit wallet:1 25 --credit merchant:7 25 --expires-in 604800
    """
    if not (debits or credits):
        raise click.UsageError("give the legs with --debit/--credit ACCOUNT AMOUNT")
    given = [(acc, text, 1) for acc, text in debits] + [(acc, text, -1) for acc, text in credits]
    the_key = key or f"cli:hold:{uuid.uuid4()}"
    with open_ledger(datadir, book) as ledger:
        accounts = _accounts(ledger, [acc for acc, _, _ in given])
        legs = []
        for n, (acc, text, sign) in enumerate(given, start=1):
            minor = parse_major(text, accounts[acc].exponent, f"leg {n} ({acc})", {"account": acc, "leg": n})
            if minor <= 0:
                raise click.BadParameter(f"leg {n} ({acc}): the amount must be positive, got {text!r}")
            legs.append(Leg(acc, sign * minor, accounts[acc].currency))
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None
        result = ledger.hold(the_key, legs, description=description, metadata=metadata, expires_at=expires_at)
        rows = _available(ledger, list(accounts))
        if as_json:
            echo_json(
                {
                    "book": book,
                    "hold_id": result.hold_id,
                    "key": the_key,
                    "created": result.created,
                    "replay": not result.created,
                    "recorded_at": result.recorded_at,
                    "expires_at": result.expires_at,
                    "accounts": rows,
                }
            )
            return
        if result.created:
            echo(f"hold {result.hold_id} placed with key {the_key}")
        else:
            echo(f"replay: key {the_key} already placed hold {result.hold_id}; nothing was written")
        _print_available(rows)


@click.command()
@click.argument("hold_id", type=ENTRY_ID)
@click.option("--key", default=None, help="Idempotency key (default: 'cli:capture:<HOLD_ID>').")
@click.option("--amount", "amount_text", default=None, metavar="AMOUNT", help="Capture part of a two-leg hold.")
@ledger_options
@handle_errors
def capture(
    hold_id: int, key: str | None, amount_text: str | None, book: str, datadir: Path | None, as_json: bool
) -> None:
    """Post a hold as an entry: all of it, or --amount (major units) of a two-leg hold, releasing the rest.

    \b
    Example:
        dualbook capture 12 --amount 19.99
    """
    the_key = key or f"cli:capture:{hold_id}"
    with open_ledger(datadir, book) as ledger:
        h = ledger.get_hold(hold_id)
        accounts = [str(leg["account"]) for leg in h.legs]
        exponent = ledger.exponent(str(h.legs[0]["currency"]))
        minor = None
        if amount_text is not None:
            minor = parse_major(amount_text, exponent, "--amount", {"hold_id": hold_id})
        result = ledger.capture(hold_id, the_key, minor)
        rows = _available(ledger, accounts)
        if as_json:
            echo_json(
                {
                    "book": book,
                    "hold_id": hold_id,
                    "entry_id": result.entry_id,
                    "key": the_key,
                    "created": result.created,
                    "replay": not result.created,
                    **amount_fields("amount", result.amount, exponent),
                    **amount_fields("released", result.released, exponent),
                    "accounts": rows,
                }
            )
            return
        if result.created:
            echo(
                f"captured {amount(result.amount, exponent)} of hold {hold_id} as entry {result.entry_id} "
                f"(released {amount(result.released, exponent)}; key {the_key})"
            )
        else:
            echo(f"replay: key {the_key} already captured hold {hold_id} as entry {result.entry_id}")
        _print_available(rows)


@click.command()
@click.argument("hold_id", type=ENTRY_ID)
@click.option("--key", default=None, help="Idempotency key (default: 'cli:void:<HOLD_ID>').")
@ledger_options
@handle_errors
def void(hold_id: int, key: str | None, book: str, datadir: Path | None, as_json: bool) -> None:
    """Release a hold without posting it.

    \b
    Example:
        dualbook void 12
    """
    the_key = key or f"cli:void:{hold_id}"
    with open_ledger(datadir, book) as ledger:
        result = ledger.void(hold_id, the_key)
        rows = _available(ledger, [str(leg["account"]) for leg in ledger.get_hold(hold_id).legs])
        if as_json:
            echo_json(
                {
                    "book": book,
                    "hold_id": hold_id,
                    "key": the_key,
                    "created": result.created,
                    "replay": not result.created,
                    "resolved_at": result.resolved_at,
                    "accounts": rows,
                }
            )
            return
        echo(f"voided hold {hold_id} (key {the_key})" if result.created else f"replay: hold {hold_id} already voided")
        _print_available(rows)
