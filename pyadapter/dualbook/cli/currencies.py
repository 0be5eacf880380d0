"""`dualbook currency`: add a currency or custom asset (as the migrator), list and show them (as the reader)."""

from __future__ import annotations

from pathlib import Path

import click

from dualbook.cli.common import datadir_option, handle_errors, json_option, open_ledger
from dualbook.cli.output import Col, echo, echo_json, print_fields, print_table


@click.group()
def currency() -> None:
    """Currencies and custom assets, shared by every book.

    `create` connects as the migrator (DUALBOOK_MIGRATOR_URL, else DATABASE_URL; on the embedded cluster its
    superuser): adding a currency that every book sees is an administrator's act, not the application's.
    `list` and `show` read as the reader (DUALBOOK_READER_URL, else DATABASE_URL).

    \b
    Example:
        dualbook currency create PTS --exponent 0 --name "Loyalty points"
        dualbook currency list
    """


@currency.command("create")
@click.argument("code")
@click.option("--exponent", type=int, required=True, help="Digits of the minor unit, 0-18 (USD 2, JPY 0, BTC 8).")
@click.option("--name", default=None, help="Display name (default: the code).")
@datadir_option
@json_option
@handle_errors
def currency_create(code: str, exponent: int, name: str | None, datadir: Path | None, as_json: bool) -> None:
    """Add a currency or custom asset (idempotent: the same code, exponent and name change nothing).

    Runs as the migrator. The same code with another exponent or name is a conflict (exit 6, LD212); an
    invalid code, exponent or name exits 5 (LD101).

    \b
    Example:
        dualbook currency create PTS --exponent 0 --name "Loyalty points"
        dualbook currency create BRK.B --exponent 4 --json
    """
    with open_ledger(datadir, "default", "migrator") as ledger:
        created = ledger.create_currency(code, exponent, name)
        cur = ledger.get_currency(code)
    if as_json:
        echo_json({"code": cur.code, "exponent": cur.exponent, "name": cur.name, "created": created})
    elif created:
        echo(f"created currency {cur.code} (exponent {cur.exponent}, {cur.name})")
    else:
        echo(f"currency {cur.code} already exists with these attributes; nothing changed")


@currency.command("list")
@datadir_option
@json_option
@handle_errors
def currency_list(datadir: Path | None, as_json: bool) -> None:
    """Every currency and asset: code, exponent, name (as the reader).

    \b
    Example:
        dualbook currency list --json
    """
    with open_ledger(datadir, "default", "reader") as ledger:
        rows = list(ledger.currencies().values())
    if as_json:
        echo_json([{"code": c.code, "exponent": c.exponent, "name": c.name} for c in rows])
        return
    print_table([Col("Code"), Col("Exponent", right=True), Col("Name")], [(c.code, c.exponent, c.name) for c in rows])


@currency.command("show")
@click.argument("code")
@datadir_option
@json_option
@handle_errors
def currency_show(code: str, datadir: Path | None, as_json: bool) -> None:
    """One currency: its exponent and name (unknown code: exit 5, LD108).

    \b
    Example:
        dualbook currency show USD
    """
    with open_ledger(datadir, "default", "reader") as ledger:
        cur = ledger.get_currency(code)
    if as_json:
        echo_json({"code": cur.code, "exponent": cur.exponent, "name": cur.name})
        return
    print_fields([("Currency", cur.code), ("Exponent", cur.exponent), ("Name", cur.name)])
