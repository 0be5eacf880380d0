"""The tamper-evident journal's hashing, and an offline verifier of an audit export, in plain Python.

This module is the executable form of docs/audit.md and deliberately independent of the database: it uses the
standard library only (``hashlib``, ``json``), so an auditor can copy this one file and run it::

    python auditspec.py ledger-export.jsonl          # exit 0: everything holds; 1: the first divergence

It re-implements, without sharing code with the SQL (``deploy/function_audit_hash.sql``), the canonical encoding
of legs, entries and seals, their SHA-256 hashes and the RFC 6962 Merkle root of a seal, and then checks an export
file exactly as ``ledger.audit_verify()`` checks the database: the chain of every book, every sealed entry against
the journal, entries added after sealing, and every balance recomputed from the postings. Findings use the same
kinds as the SQL function. ``dualbook audit verify --file FILE`` calls :func:`verify_file`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "dualbook-audit-export"
VERSION = 1
ENCODING = "dualbook/v1"
LEG_TAG = "dualbook/leg/v1"
ENTRY_TAG = "dualbook/entry/v1"
SEAL_TAG = "dualbook/seal/v1"

#: the order of record types in an export file (after the manifest, before the end record)
RECORD_ORDER = ("currency", "book", "account", "seal", "sealed_entry", "entry", "posting")

_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_HEX32 = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^([0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z( BC)?|-?infinity)$")
_DATE = re.compile(r"^([0-9]{4,}-[0-9]{2}-[0-9]{2}( BC)?|-?infinity)$")


# --- the canonical encoding -------------------------------------------------------------------------------------
def field_bytes(value: str | None) -> bytes:
    """One field: ``b"-"`` for NULL, else the decimal length of the UTF-8 bytes, ``":"``, and the bytes."""
    if value is None:
        return b"-"
    data = value.encode("utf-8")
    return str(len(data)).encode("ascii") + b":" + data


def fields(*values: str | None) -> bytes:
    """Fields concatenated: the encoding of a leg, entry or seal before hashing."""
    return b"".join(field_bytes(v) for v in values)


@dataclass(frozen=True)
class Leg:
    """A posting, every hashed field in its canonical text (integers in decimal, NULL as None)."""

    book_id: str
    entry_id: str
    leg: str
    account_id: str
    account_code: str | None
    amount: str
    currency: str
    account_seq: str | None
    balance_after: str | None
    #: what the sequencer assigned later to a leg of a deferred account (not hashed)
    sequenced_account_seq: str | None = None
    sequenced_balance_after: str | None = None

    def encoding(self) -> bytes:
        return fields(
            LEG_TAG,
            self.book_id,
            self.entry_id,
            self.leg,
            self.account_id,
            self.account_code,
            self.amount,
            self.currency,
            self.account_seq,
            self.balance_after,
        )

    def hash(self) -> bytes:
        return hashlib.sha256(self.encoding()).digest()


@dataclass(frozen=True)
class Entry:
    """An entry header, every hashed field in its canonical text."""

    book_id: str
    entry_id: str
    idempotency_key: str
    request_hash: str
    description: str | None
    metadata: str
    effective_date: str
    recorded_at: str
    reverses_entry_id: str | None

    def encoding(self, leg_hashes: Sequence[bytes]) -> bytes:
        """The entry's encoding; ``leg_hashes`` are its legs' hashes in leg order."""
        return fields(
            ENTRY_TAG,
            self.book_id,
            self.entry_id,
            self.idempotency_key,
            self.request_hash,
            self.description,
            self.metadata,
            self.effective_date,
            self.recorded_at,
            self.reverses_entry_id,
            str(len(leg_hashes)),
            *(h.hex() for h in leg_hashes),
        )

    def hash(self, leg_hashes: Sequence[bytes]) -> bytes:
        return hashlib.sha256(self.encoding(leg_hashes)).digest()


@dataclass(frozen=True)
class Seal:
    """A seal of a book's chain, every hashed field in its canonical text (hashes in lowercase hex)."""

    book_id: str
    book_code: str | None
    seal_no: str
    from_entry_id: str
    to_entry_id: str
    entry_count: str
    merkle_root: str
    prev_hash: str | None
    sealed_at: str
    seal_hash: str

    def encoding(self) -> bytes:
        return fields(
            SEAL_TAG,
            self.book_id,
            self.book_code,
            self.seal_no,
            self.from_entry_id,
            self.to_entry_id,
            self.entry_count,
            self.merkle_root,
            self.prev_hash,
            self.sealed_at,
        )

    def hash(self) -> bytes:
        return hashlib.sha256(self.encoding()).digest()


@dataclass(frozen=True)
class SealedEntry:
    """What a seal recorded for one entry: its hash and its legs' hashes (hex), in leg order."""

    book_id: str
    entry_id: str
    seal_no: str
    entry_hash: str
    leg_hashes: tuple[str, ...]


def merkle_root(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash: leaf = sha256(0x00 || h), node = sha256(0x01 || left || right), split at the
    largest power of two below n; sha256(b"") for no leaves."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashlib.sha256(b"\x00" + hashes[0]).digest()
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(hashes[:k]) + merkle_root(hashes[k:])).digest()


# --- findings ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """One divergence: ``kind`` as in docs/audit.md, where (book, seal, entry), and what differs."""

    kind: str
    book: str | None
    seal_no: int | None
    entry_id: int | None
    subject: str
    detail: str

    def line(self) -> str:
        where = f"book {self.book}: " if self.book is not None else ""
        return f"{self.kind}: {where}{self.subject}: {self.detail}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "book": self.book,
            "seal_no": self.seal_no,
            "entry_id": self.entry_id,
            "subject": self.subject,
            "detail": self.detail,
        }


@dataclass
class Report:
    """The outcome of a verification: findings in order (the first is the first divergence) and totals."""

    findings: list[Finding] = field(default_factory=list)
    books: int = 0
    seals: int = 0
    entries: int = 0
    sealed: int = 0
    unsealed: int = 0
    sealed_through: int = 0
    #: per book code: the hash of its newest seal (the chain head to publish or compare)
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class _Sort:
    """Where a finding sorts: chain findings of each book in chain order, then balance findings."""

    books_check: bool
    book_id: int | None
    seal_no: int | None
    rank: int
    entry_id: int | None
    #: the leg of a leg finding (legs of one entry sort by number)
    leg: int | None = None

    def key(self) -> tuple[Any, ...]:
        return (
            self.books_check,
            self.book_id is None,
            self.book_id or 0,
            self.seal_no is None,
            self.seal_no or 0,
            self.rank,
            self.entry_id is not None,
            self.entry_id or 0,
            self.leg is not None,
            self.leg or 0,
        )


# --- reading an export -------------------------------------------------------------------------------------------
@dataclass
class ExportData:
    """The records of an export file, parsed; ``problems`` are its structural findings (kind ``format``)."""

    manifest: dict[str, Any] = field(default_factory=dict)
    currencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    books: dict[int, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    seals: list[Seal] = field(default_factory=list)
    sealed_entries: list[SealedEntry] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    postings: list[Leg] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


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
def verify_data(data: ExportData) -> Report:
    """Every check of docs/audit.md on parsed records; findings sorted as ``ledger.audit_verify()`` sorts them."""
    report = Report()
    found: list[tuple[_Sort, Finding]] = []
    codes = {int(book_id): str(rec.get("code")) for book_id, rec in data.books.items()}

    def add(sort: _Sort, kind: str, subject: str, detail: str) -> None:
        book = codes.get(sort.book_id) if sort.book_id is not None else None
        found.append((sort, Finding(kind, book, sort.seal_no, sort.entry_id, subject, detail)))

    # Postings grouped by entry, in leg order; every entry's leg hashes and hash as they are now.
    legs_of: dict[tuple[int, int], list[Leg]] = defaultdict(list)
    for p in data.postings:
        legs_of[(int(p.book_id), int(p.entry_id))].append(p)
    for legs in legs_of.values():
        legs.sort(key=lambda p: int(p.leg))
    entries = {(int(e.book_id), int(e.entry_id)): e for e in data.entries}
    leg_hashes_now: dict[tuple[int, int], list[bytes]] = {}
    hash_now: dict[tuple[int, int], bytes] = {}
    for key, e in entries.items():
        hashes = [p.hash() for p in legs_of.get(key, [])]
        leg_hashes_now[key] = hashes
        hash_now[key] = e.hash(hashes)

    # 1. The chain of each book, seal by seal.
    chains: dict[int, list[Seal]] = defaultdict(list)
    for s in data.seals:
        chains[int(s.book_id)].append(s)
    members: dict[tuple[int, int], list[SealedEntry]] = defaultdict(list)
    for se in data.sealed_entries:
        members[(int(se.book_id), int(se.seal_no))].append(se)
    ranges: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    watermark = 0
    for book_id, seals in sorted(chains.items()):
        seals.sort(key=lambda s: int(s.seal_no))
        prev: Seal | None = None
        for s in seals:
            no, lo, hi = int(s.seal_no), int(s.from_entry_id), int(s.to_entry_id)
            ranges[book_id].append((no, lo, hi))
            watermark = max(watermark, hi)
            subject = f"seal {no}"
            prev_no = int(prev.seal_no) if prev else 0
            if no != prev_no + 1:
                detail = (
                    f"the chain starts at seal {no}: seal(s) 1..{no - 1} are missing"
                    if prev is None
                    else f"seal {no} follows seal {prev_no}: seal(s) {prev_no + 1}..{no - 1} are missing"
                )
                add(_Sort(False, book_id, no, 1, None), "seal_sequence", subject, detail)
            prev_to = int(prev.to_entry_id) if prev else 0
            if lo != prev_to:
                add(
                    _Sort(False, book_id, no, 2, None),
                    "seal_range",
                    subject,
                    f"covers entries ({lo}, {hi}], but the previous seal ends at {prev_to}",
                )
            prev_hash = prev.seal_hash if prev else None
            if s.prev_hash != prev_hash:
                add(
                    _Sort(False, book_id, no, 3, None),
                    "seal_link",
                    subject,
                    f"prev_hash is {s.prev_hash or 'NULL'}, but the hash of the seal before it "
                    f"({'seal ' + prev.seal_no if prev else 'none'}) is {prev_hash or 'NULL'}",
                )
            recomputed = s.hash().hex()
            if recomputed != s.seal_hash:
                add(
                    _Sort(False, book_id, no, 6, None),
                    "seal_hash",
                    subject,
                    f"stored hash {s.seal_hash}, but its fields hash to {recomputed}",
                )
            sealed_here = sorted(members.get((book_id, no), []), key=lambda se: int(se.entry_id))
            if int(s.entry_count) != len(sealed_here):
                add(
                    _Sort(False, book_id, no, 4, None),
                    "seal_count",
                    subject,
                    f"entry_count is {s.entry_count}, but {len(sealed_here)} entries are sealed in it",
                )
            root = merkle_root([bytes.fromhex(se.entry_hash) for se in sealed_here]).hex()
            if root != s.merkle_root:
                add(
                    _Sort(False, book_id, no, 5, None),
                    "seal_root",
                    subject,
                    f"merkle_root is {s.merkle_root}, but its sealed entry hashes give {root}",
                )
            prev = s
        report.heads[codes.get(book_id, str(book_id))] = seals[-1].seal_hash
    seal_index = {(book_id, no): (lo, hi) for book_id, rs in ranges.items() for no, lo, hi in rs}
    orphans: dict[tuple[int, int], list[int]] = defaultdict(list)
    for se in data.sealed_entries:
        book_id, entry_id, no = int(se.book_id), int(se.entry_id), int(se.seal_no)
        bounds = seal_index.get((book_id, no))
        if bounds is None:
            orphans[(book_id, no)].append(entry_id)
        elif not bounds[0] < entry_id <= bounds[1]:
            add(
                _Sort(False, book_id, no, 7, entry_id),
                "seal_range",
                f"entry {entry_id}",
                f"is recorded in seal {no}, which covers entries ({bounds[0]}, {bounds[1]}]",
            )
    for (book_id, no), ids in orphans.items():
        what = "entry" if len(ids) == 1 else "entries"
        add(
            _Sort(False, book_id, no, 0, None),
            "seal_missing",
            f"seal {no}",
            f"is not in the chain, but {len(ids)} sealed {what} (ids {min(ids)}..{max(ids)}) are recorded in it",
        )

    # 2. Every sealed entry against the journal as it is now.
    sealed_keys: set[tuple[int, int]] = set()
    for se in data.sealed_entries:
        book_id, entry_id, no = int(se.book_id), int(se.entry_id), int(se.seal_no)
        key = (book_id, entry_id)
        sealed_keys.add(key)
        sort = _Sort(False, book_id, no, 10, entry_id)
        subject = f"entry {entry_id}"
        entry = entries.get(key)
        if entry is None:
            n = len(legs_of.get(key, []))
            add(
                sort,
                "entry_missing",
                subject,
                f"was sealed in seal {no} but is not in the journal (deleted); its postings: {n}",
            )
            continue
        now_legs = [h.hex() for h in leg_hashes_now[key]]
        now_hash = hash_now[key].hex()
        if now_hash == se.entry_hash and tuple(now_legs) == se.leg_hashes:
            continue
        if now_hash == se.entry_hash:
            add(
                sort,
                "sealed_legs",
                subject,
                f"matches its sealed hash, but the leg hashes recorded for it in seal {no} were altered",
            )
            continue
        by_number = {int(p.leg): p for p in legs_of.get(key, [])}
        top = max([len(se.leg_hashes), *by_number.keys()])
        differing: list[tuple[int, Leg | None, str | None]] = []
        for k in range(1, top + 1):
            leg = by_number.get(k)
            now = leg.hash().hex() if leg is not None else None
            sealed = se.leg_hashes[k - 1] if k <= len(se.leg_hashes) else None
            if now != sealed:
                differing.append((k, leg, sealed))
        if not differing:
            add(
                sort,
                "entry_changed",
                subject,
                f"its header no longer matches seal {no} (entry hash {now_hash}, sealed {se.entry_hash}); now: key "
                f"{entry.idempotency_key!r}, description {entry.description!r}, effective_date {entry.effective_date}, "
                f"recorded_at {entry.recorded_at}, reverses {entry.reverses_entry_id or 'none'}",
            )
            continue
        for k, leg, sealed in differing:  # every leg that differs, in leg order
            leg_sort = _Sort(False, book_id, no, 10, entry_id, k)
            subject = f"entry {entry_id} leg {k}"
            if sealed is None and leg is not None:
                add(
                    leg_sort,
                    "leg_added",
                    subject,
                    f"was not sealed (seal {no} holds {len(se.leg_hashes)} leg(s) of this entry); now: account "
                    f"{leg.account_code!r} (id {leg.account_id}), amount {leg.amount} {leg.currency}",
                )
            elif leg is None:
                add(leg_sort, "leg_missing", subject, f"was sealed in seal {no} but is not in the journal (deleted)")
            else:
                add(
                    leg_sort,
                    "leg_changed",
                    subject,
                    f"differs from what seal {no} holds; now: account {leg.account_code!r} (id {leg.account_id}), "
                    f"amount {leg.amount} {leg.currency}, account_seq {leg.account_seq or 'NULL'}, balance_after "
                    f"{leg.balance_after or 'NULL'}",
                )

    # 3. Entries no seal holds although the chain already covers their id.
    for (book_id, entry_id), _e in sorted(entries.items()):
        if (book_id, entry_id) in sealed_keys:
            continue
        if entry_id > watermark:
            report.unsealed += 1
            continue
        covering = [(no, lo, hi) for no, lo, hi in ranges.get(book_id, []) if lo < entry_id <= hi]
        if covering:
            no, lo, hi = covering[0]
            detail = (
                f"is not sealed, but seal {no} covers entries ({lo}, {hi}] of this book: it was added after sealing"
            )
            add(_Sort(False, book_id, no, 10, entry_id), "entry_unsealed", f"entry {entry_id}", detail)
        else:
            detail = f"is not sealed, but every entry up to {watermark} has been sealed: it was added after sealing"
            add(_Sort(False, book_id, None, 10, entry_id), "entry_unsealed", f"entry {entry_id}", detail)

    # 4. Every balance recomputed from the postings.
    for sort, kind, subject, detail in _books_check(data, entries, legs_of):
        add(sort, kind, subject, detail)

    found.sort(key=lambda x: (*x[0].key(), x[1].kind, x[1].subject, x[1].detail))
    report.findings = list(data.problems) + [f for _, f in found]
    report.books = len(data.books)
    report.seals = len(data.seals)
    report.entries = len(data.entries)
    report.sealed = len(sealed_keys & set(entries))
    report.sealed_through = watermark
    return report


def _books_check(
    data: ExportData, entries: Mapping[tuple[int, int], Entry], legs_of: Mapping[tuple[int, int], list[Leg]]
) -> Iterator[tuple[_Sort, str, str, str]]:
    """The balance part of ledger.books_check(), offline: currency sums, balanced entries, references, each
    account's balance and posting count, running balances."""

    def at(book_id: int) -> _Sort:
        return _Sort(True, book_id, None, 100, None)

    sums: dict[tuple[int, str], int] = defaultdict(int)
    per_account: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    statement: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for (book_id, entry_id), legs in sorted(legs_of.items()):
        if (book_id, entry_id) not in entries:
            for p in legs:
                yield at(book_id), "books:posting_refs", f"entry {entry_id} leg {p.leg}", "entry does not exist"
        by_currency: dict[str, int] = defaultdict(int)
        for p in legs:
            amount = int(p.amount)
            by_currency[p.currency] += amount
            sums[(book_id, p.currency)] += amount
            acc = data.accounts.get((p.book_id, p.account_id))
            if acc is None:
                detail = f"account {p.account_id} does not exist"
                yield at(book_id), "books:posting_refs", f"entry {entry_id} leg {p.leg}", detail
            elif acc.get("currency") != p.currency:
                detail = f"currency {p.currency} but account is in {acc.get('currency')}"
                yield at(book_id), "books:posting_refs", f"entry {entry_id} leg {p.leg}", detail
            totals = per_account[(book_id, int(p.account_id))]
            totals[0] += amount
            totals[1] += 1
            seq_text = p.account_seq or p.sequenced_account_seq
            after_text = p.balance_after if p.account_seq is not None else p.sequenced_balance_after
            if seq_text is not None and after_text is not None:
                statement[(book_id, int(p.account_id))].append((int(seq_text), int(after_text), amount))
        if (book_id, entry_id) in entries:
            bad = sorted((c, s) for c, s in by_currency.items() if s != 0)
            if bad:
                yield (
                    at(book_id),
                    "books:entry_balanced",
                    f"entry {entry_id}",
                    f"legs in {bad[0][0]} sum to {bad[0][1]}",
                )
            elif len(legs) < 2:
                yield at(book_id), "books:entry_balanced", f"entry {entry_id}", f"has {len(legs)} legs"
    for book_id, entry_id in sorted(entries):
        if (book_id, entry_id) not in legs_of:
            yield at(book_id), "books:entry_balanced", f"entry {entry_id}", "has 0 legs"
    for (book_id, currency), total in sorted(sums.items()):
        if total != 0:
            yield at(book_id), "books:currency_sum", currency, f"postings sum to {total}"
    for (book_text, account_text), acc in sorted(data.accounts.items(), key=lambda x: (int(x[0][0]), int(x[0][1]))):
        book_id, account_id = int(book_text), int(account_text)
        total, n = per_account.get((book_id, account_id), [0, 0])
        balance = acc.get("debit_balance")
        if balance is None or int(balance) != total or int(acc.get("postings", -1)) != n:
            detail = f"balance {balance} with {acc.get('postings')} postings; postings sum to {total}, count {n}"
            yield at(book_id), "books:account_balance", str(acc.get("code")), detail
        running = 0
        for seq, after, amount in sorted(statement.get((book_id, account_id), [])):
            running += amount
            if after != running:
                detail = f"balance_after {after}, expected {running}"
                yield at(book_id), "books:running_balance", f"{acc.get('code')} seq {seq}", detail
                running = after


def verify_file(path: Path) -> Report:
    """Read and verify an export file offline (no database)."""
    return verify_data(read_export(iter_lines(path)))


def main(argv: Sequence[str] | None = None) -> int:
    """``python auditspec.py FILE``: print the first divergence (or a summary), exit 0 only if everything holds."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python auditspec.py EXPORT.jsonl", file=sys.stderr)
        return 2
    report = verify_file(Path(args[0]))
    if report.ok:
        print(
            f"ok: {report.books} book(s), {report.seals} seal(s), {report.sealed} of {report.entries} entries sealed "
            f"(through entry {report.sealed_through}), every balance recomputed"
        )
        return 0
    print(f"FIRST DIVERGENCE: {report.findings[0].line()}")
    if len(report.findings) > 1:
        print(f"({len(report.findings) - 1} further finding(s))")
    return 1


if __name__ == "__main__":
    sys.exit(main())
