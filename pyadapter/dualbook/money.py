"""Exact money at the edges: "12.34 USD" <-> 1234 minor units, using the currency's exponent.

Decimal is used only to parse and format text; amounts are ``int`` minor units everywhere else. Floats are
refused outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from dualbook.errors import InvalidArgument

#: ASCII digits only (``\d`` would take the digits of every script, Arabic-Indic and fullwidth included); '_'
#: only between digits of the whole part; an optional leading '-' and no '+'.
_AMOUNT = re.compile(r"-?([0-9]+(?:_[0-9]+)*)(?:\.([0-9]+))?", re.ASCII)

#: Longer text is refused before any arithmetic: no 64-bit amount needs more than 19 digits plus decimals.
MAX_AMOUNT_CHARS = 64


def parse_amount(text: str | int | Decimal, exponent: int) -> int:
    """'12.34' with exponent 2 -> 1234. Refuses floats, more decimals than the exponent, digits other than ASCII
    0-9, a leading '+' or '_', text over 64 characters, and garbage."""
    if isinstance(text, (bool, float)):
        raise InvalidArgument("amounts must be given as text, int or Decimal, never float")
    if isinstance(text, int):
        return text * int(10**exponent)
    raw = str(text).strip(" \t")
    if len(raw) > MAX_AMOUNT_CHARS:
        raise InvalidArgument(f"not an amount: {len(raw)} characters long (at most {MAX_AMOUNT_CHARS})")
    m = _AMOUNT.fullmatch(raw)
    if not m:
        raise InvalidArgument(
            f"not an amount: {raw!r} (ASCII digits 0-9, an optional '.' and decimals, '-' for a negative amount, "
            "'_' between digits)"
        )
    s = raw.replace("_", "")
    decimals = m.group(2) or ""
    if len(decimals.rstrip("0")) > exponent:
        raise InvalidArgument(f"{s} has more than {exponent} decimal places for this currency")
    try:
        value = Decimal(s).scaleb(exponent)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise InvalidArgument(f"not an amount: {s!r}") from exc
    return int(value)


def format_amount(minor: int, exponent: int) -> str:
    """1234 with exponent 2 -> '12.34'; -5 with exponent 2 -> '-0.05'."""
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


@dataclass(frozen=True)
class Money:
    """An amount of minor units in a currency."""

    amount: int
    currency: str


def split_money(text: str) -> tuple[str, str]:
    """'12.34 USD' -> ('12.34', 'USD')."""
    parts = text.split()
    if len(parts) != 2:
        raise InvalidArgument(f"expected '<amount> <CURRENCY>', got {text!r}")
    return parts[0], parts[1].upper()
