"""Posting documents: the JSON object `post --file` reads and each line of `post --batch` is, parsed strictly (no
NaN, bounded depth and size) and shape-checked; the database validates their content."""

from __future__ import annotations

from datetime import date
from typing import IO, Any

import click

from dualbook.cli.common import load_json

DOCUMENT_FIELDS = frozenset({"key", "legs", "description", "metadata", "effective_date", "assertions"})


def _bad_document(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="'--file'")


def read_document(stream: IO[str]) -> dict[str, Any]:
    """Parse and shape-check a posting document (the database validates its content)."""
    try:
        doc = load_json(stream.read())
    except ValueError as exc:
        raise _bad_document(str(exc)) from exc
    if not isinstance(doc, dict):
        raise _bad_document("must be a JSON object with 'legs' (and optionally key, description, ...)")
    unknown = sorted(set(doc) - DOCUMENT_FIELDS)
    if unknown:
        raise _bad_document(f"unknown fields {', '.join(unknown)} (known: {', '.join(sorted(DOCUMENT_FIELDS))})")
    legs = doc.get("legs")
    if not isinstance(legs, list) or not all(isinstance(leg, dict) for leg in legs):
        raise _bad_document('\'legs\' must be a JSON array of {"account", "amount", "currency"} objects')
    for name in ("key", "description", "effective_date"):
        if doc.get(name) is not None and not isinstance(doc[name], str):
            raise _bad_document(f"'{name}' must be a string")
    if doc.get("metadata") is not None and not isinstance(doc["metadata"], dict):
        raise _bad_document("'metadata' must be a JSON object")
    assertions = doc.get("assertions")
    if assertions is not None and (
        not isinstance(assertions, list)
        or not all(isinstance(a, dict) and set(a) == {"account", "op", "balance"} for a in assertions)
    ):
        raise _bad_document('\'assertions\' must be a JSON array of {"account", "op", "balance"} objects')
    if isinstance(doc.get("effective_date"), str):
        try:
            doc["effective_date"] = date.fromisoformat(doc["effective_date"])
        except ValueError as exc:
            raise _bad_document(f"'effective_date' must be YYYY-MM-DD: {exc}") from exc
    return doc
