"""`dualbook account`: create, list, show and close accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dualbook.calls import Balance
from dualbook.cli.common import handle_errors, json_object, ledger_options, open_ledger, parse_major
from dualbook.cli.output import Col, amount, amount_fields, echo, echo_json, print_fields, print_table


# --- accounts -----------------------------------------------------------------------------------------------
@click.group()
def account() -> None:
    """Create, list, show and close accounts.

    \b
    Example:
        dualbook account create wallet:1 --currency USD --type liability --lower-limit 0
        dualbook account list --prefix wallet:
    """


def balance_json(b: Balance, book: str) -> dict[str, Any]:
    return {
        "book": book,
        "account_id": b.account_id,
        "code": b.code,
        "currency": b.currency,
        "exponent": b.exponent,
        "type": b.type,
        "status": b.status,
        **amount_fields("balance", b.balance, b.exponent),
        "postings": b.seq,
        **amount_fields("lower_limit", b.lower_limit, b.exponent),
        **amount_fields("upper_limit", b.upper_limit, b.exponent),
    }


@account.command("create")
@click.argument("code")
@click.option("--currency", required=True, help="Currency or asset code, e.g. USD (see ledger.currencies).")
@click.option(
    "--type",
    "type_",
    required=True,
    metavar="asset|liability|equity|income|expense",
    help="Account type; assets and expenses have debit balances, the others credit balances.",
)
@click.option(
    "--lower-limit",
    metavar="AMOUNT",
    default=None,
    help="Lowest allowed balance in major units (0 = no overdraft). Default: unbounded.",
)
@click.option(
    "--upper-limit", metavar="AMOUNT", default=None, help="Highest allowed balance in major units. Default: unbounded."
)
@click.option("--metadata", callback=json_object, default=None, metavar="JSON", help="A JSON object stored with it.")
@click.option(
    "--deferred",
    is_flag=True,
    help="A hot account without limits (fees, settlement): legs are queued, not applied to one contended row; "
    "run 'dualbook sequencer' to number them.",
)
@ledger_options
@handle_errors
def account_create(
    code: str,
    currency: str,
    type_: str,
    lower_limit: str | None,
    upper_limit: str | None,
    metadata: dict[str, Any] | None,
    deferred: bool,
    book: str,
    datadir: Path | None,
    as_json: bool,
) -> None:
    """Open an account. Idempotent: the same code with the same attributes reports the existing account.

    Balances and limits are the account's normal balance: debit-positive for assets and expenses,
    credit-positive for liabilities, equity and income.

    \b
    Example:
        dualbook account create bank --currency USD --type asset
        dualbook account create wallet:1 --currency USD --type liability --lower-limit 0 \\
            --metadata '{"owner": "alice"}'
        dualbook account create income:fees --currency USD --type income --deferred
    """
    with open_ledger(datadir, book) as ledger:
        lower = upper = None
        exponent = 0  # only used when a limit is given
        if lower_limit is not None or upper_limit is not None:
            exponent = ledger.exponent(currency)
            if lower_limit is not None:
                lower = parse_major(lower_limit, exponent, "--lower-limit", {"argument": "lower_limit"})
            if upper_limit is not None:
                upper = parse_major(upper_limit, exponent, "--upper-limit", {"argument": "upper_limit"})
        result = ledger.create_account(
            code, currency, type_, lower_limit=lower, upper_limit=upper, metadata=metadata, deferred=deferred
        )
        if as_json:
            echo_json(
                {
                    "book": book,
                    "account_id": result.account_id,
                    "code": code,
                    "created": result.created,
                    "currency": currency,
                    "type": type_,
                    "deferred": deferred,
                    **amount_fields("lower_limit", lower, exponent),
                    **amount_fields("upper_limit", upper, exponent),
                }
            )
        elif result.created:
            echo(f"created account {code} (id {result.account_id}, {currency} {type_})")
        else:
            echo(f"account {code} already exists with these attributes (id {result.account_id}); nothing changed")


@account.command("list")
@click.option("--prefix", default="", help="Only accounts whose code starts with this text.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="At most this many.")
@ledger_options
@handle_errors
def account_list(prefix: str, limit: int, book: str, datadir: Path | None, as_json: bool) -> None:
    """List accounts with their balances, in code order.

    \b
    Example:
        dualbook account list
        dualbook account list --prefix wallet: --limit 20 --json
    """
    with open_ledger(datadir, book, "reader") as ledger:
        rows = ledger.list_accounts(prefix=prefix, limit=limit)
        exponents = {r.currency: ledger.exponent(r.currency) for r in rows}
    if as_json:
        echo_json(
            [
                {
                    "book": r.book,
                    "account_id": r.account_id,
                    "code": r.code,
                    "currency": r.currency,
                    "type": r.type,
                    "status": r.status,
                    **amount_fields("balance", r.balance, exponents[r.currency]),
                    "postings": r.postings,
                    **amount_fields("lower_limit", r.lower_limit, exponents[r.currency]),
                    **amount_fields("upper_limit", r.upper_limit, exponents[r.currency]),
                    "deferred": r.deferred,
                    "queued": r.queued,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        echo("no accounts" + (f" starting with {prefix!r}" if prefix else ""))
        return
    print_table(
        [
            Col("Code"),
            Col("Currency"),
            Col("Type"),
            Col("Status"),
            Col("Balance", right=True),
            Col("Postings", right=True),
            Col("Lower limit", right=True),
            Col("Upper limit", right=True),
            Col("Queued", right=True),
        ],
        [
            (
                r.code,
                r.currency,
                r.type,
                r.status,
                amount(r.balance, exponents[r.currency]),
                r.postings,
                amount(r.lower_limit, exponents[r.currency]),
                amount(r.upper_limit, exponents[r.currency]),
                f"{r.queued} (deferred)" if r.deferred else "",
            )
            for r in rows
        ],
    )
    if len(rows) == limit:
        echo(f"(showing the first {limit}; use --limit or --prefix for more)", err=True)


@account.command("show")
@click.argument("code")
@ledger_options
@handle_errors
def account_show(code: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Show one account: balance, postings, status and limits.

    \b
    Example:
        dualbook account show wallet:1
    """
    with open_ledger(datadir, book, "reader") as ledger:
        b = ledger.get_balance(code)
    if as_json:
        echo_json(balance_json(b, book))
        return

    def money(minor: int | None) -> str:
        return "unbounded" if minor is None else f"{amount(minor, b.exponent)} {b.currency}"

    print_fields(
        [
            ("Account", b.code),
            ("Book", book),
            ("ID", b.account_id),
            ("Currency", f"{b.currency} (exponent {b.exponent})"),
            ("Type", b.type),
            ("Status", b.status),
            ("Balance", money(b.balance)),
            ("Postings", b.seq),
            ("Lower limit", money(b.lower_limit)),
            ("Upper limit", money(b.upper_limit)),
        ]
    )


@account.command("close")
@click.argument("code")
@ledger_options
@handle_errors
def account_close(code: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Close an account at zero balance; a closed account refuses postings. Closing it again is a no-op.

    \b
    Example:
        dualbook account close wallet:1
    """
    with open_ledger(datadir, book) as ledger:
        closed_at = ledger.close_account(code)
    if as_json:
        echo_json({"book": book, "code": code, "status": "closed", "closed_at": closed_at})
    else:
        echo(f"closed account {code} at {closed_at.isoformat()}")
