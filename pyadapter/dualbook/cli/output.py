"""How the CLI prints: aligned tables for people, JSON for scripts (the sqlite-utils pattern).

Amounts are exact: integers of minor units in JSON (next to a formatted string in major units), and major units
formatted with the currency's exponent in tables. Nothing here is a float.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import click
from rich.box import Box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dualbook.money import format_amount

#: Like rich's SIMPLE box, in ASCII: a dashed line under the header, columns separated by spaces.
ASCII_SIMPLE = Box(
    "    \n"  # top
    "    \n"  # head
    " -  \n"  # head row separator
    "    \n"  # mid
    "    \n"  # row separator
    " -  \n"  # foot row separator
    "    \n"  # foot
    "    \n",  # bottom
    ascii=True,
)

#: Tables render at their natural width, even on a narrow terminal: an amount is never truncated or folded
#: (a wide table wraps in the terminal instead).
UNBOUNDED_WIDTH = 100_000


@dataclass(frozen=True)
class Col:
    """A table column: its header, and whether values align right (amounts, counts)."""

    header: str
    right: bool = False


def console() -> Console:
    """A console on the current stdout that prints data verbatim (no markup, emoji or highlighting), never
    truncating; colour only on a terminal."""
    c = Console(markup=False, emoji=False, highlight=False, width=UNBOUNDED_WIDTH)
    if not c.is_terminal:
        c = Console(markup=False, emoji=False, highlight=False, width=UNBOUNDED_WIDTH, color_system=None)
    return c


#: Invisible characters that reorder the text around them (bidirectional overrides and isolates).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """Text as a terminal may show it: control characters (C0, DEL, C1: escape sequences, carriage returns,
    newlines, tabs) and bidirectional controls become visible escapes (\\x1b, \\u202e), so that stored data
    cannot move the cursor, retitle the window or clear the screen. JSON output does not use this: it stays
    exact JSON."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS else ch for ch in text)


def echo(text: str = "", *, err: bool = False) -> None:
    """click.echo for human-readable text: control characters escaped (:func:`safe`)."""
    click.echo(safe(text), err=err)


def cell(value: object) -> str:
    return "" if value is None else safe(str(value))


def print_table(columns: Sequence[Col], rows: Iterable[Sequence[object]]) -> None:
    """An aligned table on stdout; None prints as an empty cell."""
    table = Table(box=ASCII_SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
    for col in columns:
        table.add_column(col.header, justify="right" if col.right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text(cell(v)) for v in row))
    c = console()
    if c.is_terminal:
        c.print(table)
        return
    with c.capture() as captured:
        c.print(table)
    for line in captured.get().splitlines():
        click.echo(line.rstrip())


def print_fields(pairs: Sequence[tuple[str, object]]) -> None:
    """'Label:  value' lines with the values aligned; None prints as '-'."""
    width = max(len(label) for label, _ in pairs) + 1
    for label, value in pairs:
        shown = "-" if value is None else safe(str(value))
        click.echo(f"{label + ':':<{width}} {shown}".rstrip())


@dataclass(frozen=True)
class RawJSON:
    """JSON text put into JSON output verbatim: a stored document nested deeper than json.dumps can walk."""

    text: str


def _default(value: object) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(value: Any) -> str:
    """JSON text of value; a RawJSON inside is spliced in as it is (a NUL-marked placeholder stands for it while
    json.dumps runs: database text cannot contain NUL, so no real string looks like one)."""
    raw: list[str] = []

    def default(v: object) -> Any:
        if isinstance(v, RawJSON):
            raw.append(v.text)
            return f"\x00raw:{len(raw) - 1}\x00"
        return _default(v)

    out = json.dumps(value, indent=2, ensure_ascii=False, default=default)
    for i, text in enumerate(raw):
        out = out.replace(json.dumps(f"\x00raw:{i}\x00"), text, 1)
    return out


def echo_json(value: Any) -> None:
    click.echo(to_json(value))


def amount(minor: int | None, exponent: int) -> str | None:
    """Minor units as major-unit text ('12.34'), exact; None stays None."""
    return None if minor is None else format_amount(minor, exponent)


def amount_fields(name: str, minor: int | None, exponent: int) -> dict[str, Any]:
    """{'balance': 1234, 'balance_formatted': '12.34'}: the exact integer for programs, the text for people."""
    return {name: minor, f"{name}_formatted": amount(minor, exponent)}
