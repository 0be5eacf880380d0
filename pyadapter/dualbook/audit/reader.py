"""Reading an audit export (docs/audit.md §6): one JSON record per line, each field checked against the format, into
the records of :mod:`dualbook.audit.encoding`. Standard library only; a malformed line becomes a ``format`` finding,
never a traceback (metadata nested deeper than Python's recursion limit included)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dualbook.audit.encoding import (
    ENCODING,
    FORMAT,
    RECORD_ORDER,
    VERSION,
    Entry,
    ExportData,
    Finding,
    Leg,
    Seal,
    SealedEntry,
)

_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^([0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z( BC)?|-?infinity)$")
_DATE = re.compile(r"^([0-9]{4,}-[0-9]{2}-[0-9]{2}( BC)?|-?infinity)$")


class FormatProblem(Exception):
    """A record is not what docs/audit.md says it must be."""


def _text(rec: Mapping[str, Any], name: str, *, nullable: bool = False, pattern: re.Pattern[str] | None = None) -> Any:
    if name not in rec:
        raise FormatProblem(f"field {name!r} is missing")
    value = rec[name]
    if value is None:
        if nullable:
            return None
        raise FormatProblem(f"field {name!r} is null")
    if not isinstance(value, str):
        raise FormatProblem(f"field {name!r} must be a string, not {type(value).__name__}")
    if pattern is not None and not pattern.match(value):
        raise FormatProblem(f"field {name!r} is not in canonical form: {value[:80]!r}")
    return value


def _integer(rec: Mapping[str, Any], name: str, *, nullable: bool = False) -> Any:
    """An integer field: a JSON integer (small values) or a decimal string (64-bit values); canonical text."""
    if name not in rec:
        raise FormatProblem(f"field {name!r} is missing")
    value = rec[name]
    if value is None:
        if nullable:
            return None
        raise FormatProblem(f"field {name!r} is null")
    if isinstance(value, bool):
        raise FormatProblem(f"field {name!r} must be an integer")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and _INT.match(value):
        return value
    raise FormatProblem(f"field {name!r} is not a canonical integer: {str(value)[:80]!r}")


def parse_seal(rec: Mapping[str, Any]) -> Seal:
    return Seal(
        book_id=_integer(rec, "book_id"),
        book_code=_text(rec, "book_code", nullable=True),
        seal_no=_integer(rec, "seal_no"),
        from_entry_id=_integer(rec, "from_entry_id"),
        to_entry_id=_integer(rec, "to_entry_id"),
        entry_count=_integer(rec, "entry_count"),
        merkle_root=_text(rec, "merkle_root", pattern=_HEX32),
        prev_hash=_text(rec, "prev_hash", nullable=True, pattern=_HEX32),
        sealed_at=_text(rec, "sealed_at", pattern=_TIMESTAMP),
        seal_hash=_text(rec, "seal_hash", pattern=_HEX32),
    )


def parse_sealed_entry(rec: Mapping[str, Any]) -> SealedEntry:
    legs = rec.get("leg_hashes")
    if not isinstance(legs, list) or not all(isinstance(h, str) and _HEX32.match(h) for h in legs):
        raise FormatProblem("field 'leg_hashes' must be a list of 64 lowercase hex digits each")
    return SealedEntry(
        book_id=_integer(rec, "book_id"),
        entry_id=_integer(rec, "entry_id"),
        seal_no=_integer(rec, "seal_no"),
        entry_hash=_text(rec, "entry_hash", pattern=_HEX32),
        leg_hashes=tuple(legs),
    )


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_JSON_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")


def is_json_object_text(text: str) -> bool:
    """Whether ``text`` is one JSON object (RFC 8259), checked with an explicit stack instead of recursion, so
    that any nesting depth the database can store is accepted (``json.loads`` stops near Python's recursion
    limit, about 1,000 levels). Memory is linear in the depth; nothing is built."""
    stack: list[str] = []  # the open containers, "{" or "["
    state = "start"  # start, value, value_or_close, key, key_or_close, colon, after
    pos, end = 0, len(text)
    while True:
        pos = _JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if state == "after" and not stack:
            return pos == end
        if pos == end:
            return False
        c = text[pos]
        if state in ("start", "value", "value_or_close"):
            if state == "value_or_close" and c == "]":
                stack.pop()
                pos, state = pos + 1, "after"
            elif state == "start" and c != "{":
                return False  # the text must be an object
            elif c in "{[":
                stack.append(c)
                pos, state = pos + 1, "key_or_close" if c == "{" else "value_or_close"
            else:
                m = (_JSON_STRING if c == '"' else _JSON_SCALAR).match(text, pos)
                if m is None:
                    return False
                pos, state = m.end(), "after"
        elif state in ("key", "key_or_close"):
            if state == "key_or_close" and c == "}":
                stack.pop()
                pos, state = pos + 1, "after"
            else:
                m = _JSON_STRING.match(text, pos)
                if m is None:
                    return False
                pos, state = m.end(), "colon"
        elif state == "colon":
            if c != ":":
                return False
            pos, state = pos + 1, "value"
        else:  # after a value inside a container
            top = stack[-1]
            if c == ",":
                pos, state = pos + 1, "key" if top == "{" else "value"
            elif c == ("}" if top == "{" else "]"):
                stack.pop()
                pos += 1
            else:
                return False


def parse_entry(rec: Mapping[str, Any]) -> Entry:
    metadata = _text(rec, "metadata")
    try:
        is_object = isinstance(json.loads(metadata), dict)
    except RecursionError:  # deeper than json.loads goes: check it without recursion
        is_object = is_json_object_text(metadata)
    except ValueError as exc:
        raise FormatProblem(f"field 'metadata' is not JSON text: {exc}") from exc
    if not is_object:
        raise FormatProblem("field 'metadata' is not the text of a JSON object")
    return Entry(
        book_id=_integer(rec, "book_id"),
        entry_id=_integer(rec, "entry_id"),
        idempotency_key=_text(rec, "idempotency_key"),
        request_hash=_text(rec, "request_hash", pattern=_HEX32),
        description=_text(rec, "description", nullable=True),
        metadata=metadata,
        effective_date=_text(rec, "effective_date", pattern=_DATE),
        recorded_at=_text(rec, "recorded_at", pattern=_TIMESTAMP),
        reverses_entry_id=_integer(rec, "reverses_entry_id", nullable=True),
    )


def parse_posting(rec: Mapping[str, Any]) -> Leg:
    return Leg(
        book_id=_integer(rec, "book_id"),
        entry_id=_integer(rec, "entry_id"),
        leg=_integer(rec, "leg"),
        account_id=_integer(rec, "account_id"),
        account_code=_text(rec, "account_code", nullable=True),
        amount=_integer(rec, "amount"),
        currency=_text(rec, "currency"),
        account_seq=_integer(rec, "account_seq", nullable=True),
        balance_after=_integer(rec, "balance_after", nullable=True),
        sequenced_account_seq=_integer(rec, "sequenced_account_seq", nullable=True),
        sequenced_balance_after=_integer(rec, "sequenced_balance_after", nullable=True),
    )


def _check_account(rec: Mapping[str, Any]) -> dict[str, Any]:
    _integer(rec, "book_id")
    _integer(rec, "account_id")
    _text(rec, "code")
    _text(rec, "currency")
    _integer(rec, "debit_balance", nullable=True)
    _integer(rec, "postings")
    return dict(rec)


def _format(subject: str, detail: str) -> Finding:
    return Finding("format", None, None, None, subject, detail)


def read_export(lines: Iterable[bytes]) -> ExportData:
    """Parse an export (JSON Lines, docs/audit.md): a manifest first, records in :data:`RECORD_ORDER`, an end
    record last whose ``sha256`` covers every byte before it. Structural problems become ``format`` findings;
    the records that could be read are kept, so the other checks still run."""
    data = ExportData()
    digest = hashlib.sha256()
    seen_end = False
    order = -1
    count = 0
    for number, raw in enumerate(lines, start=1):
        where = f"line {number}"
        if seen_end:
            data.problems.append(_format(where, "data after the end record"))
            break
        try:
            rec = json.loads(raw)
        except ValueError as exc:
            data.problems.append(_format(where, f"not valid JSON: {exc}"))
            digest.update(raw)
            continue
        except RecursionError:  # no record nests more than two levels
            data.problems.append(_format(where, "nested too deeply to be a record (a record nests at most 2 levels)"))
            digest.update(raw)
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
            data.problems.append(_format(where, 'not a JSON object with a "type"'))
            digest.update(raw)
            continue
        kind = rec["type"]
        if number == 1:
            if kind != "manifest" or rec.get("format") != FORMAT:
                data.problems.append(_format(where, f"the first line must be the manifest of a {FORMAT} file"))
            elif rec.get("version") != VERSION or rec.get("encoding") != ENCODING:
                data.problems.append(
                    _format(where, f"unsupported version {rec.get('version')!r} / encoding {rec.get('encoding')!r}")
                )
            data.manifest = dict(rec)
            digest.update(raw)
            continue
        if kind == "end":
            seen_end = True
            if rec.get("sha256") != digest.hexdigest():
                data.problems.append(
                    _format(where, "the file's SHA-256 before the end record does not match the end record")
                )
            if rec.get("records") != count:
                data.problems.append(
                    _format(where, f"the end record counts {rec.get('records')!r} records, not {count}")
                )
            continue
        digest.update(raw)
        count += 1
        if kind not in RECORD_ORDER:
            data.problems.append(_format(where, f"unknown record type {kind!r}"))
            continue
        if RECORD_ORDER.index(kind) < order:
            data.problems.append(_format(where, f"a {kind} record after the {RECORD_ORDER[order]} records"))
        order = max(order, RECORD_ORDER.index(kind))
        try:
            if kind == "currency":
                data.currencies[_text(rec, "code")] = dict(rec)
            elif kind == "book":
                data.books[int(_integer(rec, "book_id"))] = dict(rec)
            elif kind == "account":
                acc = _check_account(rec)
                data.accounts[(_integer(rec, "book_id"), _integer(rec, "account_id"))] = acc
            elif kind == "seal":
                data.seals.append(parse_seal(rec))
            elif kind == "sealed_entry":
                data.sealed_entries.append(parse_sealed_entry(rec))
            elif kind == "entry":
                data.entries.append(parse_entry(rec))
            else:
                data.postings.append(parse_posting(rec))
        except FormatProblem as exc:
            data.problems.append(_format(f"{where} ({kind})", str(exc)))
    if not data.manifest:
        data.problems.append(_format("file", "empty: no manifest"))
    elif not seen_end:
        data.problems.append(_format("file", "no end record: the file is truncated"))
    return data


def iter_lines(path: Path) -> Iterator[bytes]:
    """The file's lines, each with its newline (the end record's digest covers the bytes as written)."""
    with path.open("rb") as f:
        yield from f


# --- verifying ---------------------------------------------------------------------------------------------------
