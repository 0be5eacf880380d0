"""`dualbook book`: add a book (as the migrator), list and show them (as the reader)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from dualbook import calls
from dualbook.calls import Call
from dualbook.cli.common import datadir_option, handle_errors, json_option, open_ledger
from dualbook.cli.output import Col, echo, echo_json, print_fields, print_table
from dualbook.errors import UnknownBook

BookRow = tuple[int, str, str, datetime]


def _books(code: str | None = None) -> Call[list[BookRow]]:
    return Call(
        "SELECT book_id, code, name, created_at FROM ledger.books WHERE %s::text IS NULL OR code = %s ORDER BY code",
        (code, code),
        lambda rows: [(r[0], r[1], r[2], r[3]) for r in rows],
        write=False,
    )


def _as_json(row: BookRow) -> dict[str, object]:
    return {"book_id": row[0], "code": row[1], "name": row[2], "created_at": row[3]}


@click.group()
def book() -> None:
    """Books: separate ledgers in one database (accounts, entries and balances never cross a book).

    `create` connects as the migrator (DUALBOOK_MIGRATOR_URL, else DATABASE_URL; on the embedded cluster its
    superuser): opening a book is an administrator's act, not the application's. `list` and `show` read as
    the reader (DUALBOOK_READER_URL, else DATABASE_URL). Other commands pick a book with --book.

    \b
    Example:
        dualbook book create emea --name "EMEA entity"
        dualbook account create bank --currency EUR --type asset --book emea
    """


@book.command("create")
@click.argument("code")
@click.option("--name", default=None, help="Display name (default: the code).")
@datadir_option
@json_option
@handle_errors
def book_create(code: str, name: str | None, datadir: Path | None, as_json: bool) -> None:
    """Add a book (idempotent: the same code and name change nothing).

    Runs as the migrator. The same code with another name is a conflict (exit 6, LD213); an invalid code
    or name exits 5 (LD101).

    \b
    Example:
        dualbook book create emea --name "EMEA entity"
    """
    with open_ledger(datadir, "default", "migrator") as ledger:
        made = ledger.execute(calls.create_book(code, name)).result
    book_id, created = made.book_id, made.created
    if as_json:
        echo_json({"book_id": book_id, "code": code, "created": created})
    elif created:
        echo(f"created book {code} (id {book_id})")
    else:
        echo(f"book {code} already exists with this name (id {book_id}); nothing changed")


@book.command("list")
@datadir_option
@json_option
@handle_errors
def book_list(datadir: Path | None, as_json: bool) -> None:
    """Every book: id, code, name, when it was created (as the reader).

    \b
    Example:
        dualbook book list --json
    """
    with open_ledger(datadir, "default", "reader") as ledger:
        rows = ledger.report(_books())
    if as_json:
        echo_json([_as_json(r) for r in rows])
        return
    print_table([Col("Id", right=True), Col("Code"), Col("Name"), Col("Created at")], rows)


@book.command("show")
@click.argument("code")
@datadir_option
@json_option
@handle_errors
def book_show(code: str, datadir: Path | None, as_json: bool) -> None:
    """One book (unknown code: exit 6, LD210).

    \b
    Example:
        dualbook book show emea
    """
    with open_ledger(datadir, "default", "reader") as ledger:
        rows = ledger.report(_books(code))
    if not rows:
        raise UnknownBook(f"book {code!r} does not exist", sqlstate="LD210", context={"book": code})
    if as_json:
        echo_json(_as_json(rows[0]))
        return
    book_id, code, name, created_at = rows[0]
    print_fields([("Book", code), ("Id", book_id), ("Name", name), ("Created at", created_at)])
