"""The tamper-evident journal's canonical encoding in plain Python: fields, legs, entries and seals, their SHA-256
hashes and the RFC 6962 Merkle root of a seal (docs/audit.md §3-4), and the verifier's findings and report.

Standard library only, and independent of the SQL that does the same in the database
(``deploy/function_audit_hash.sql``): two implementations of one specification, checked against each other by the
tests. :mod:`dualbook.audit.reader` reads an export into these records, :mod:`dualbook.audit.verify` checks them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

FORMAT = "dualbook-audit-export"
VERSION = 1
ENCODING = "dualbook/v1"
LEG_TAG = "dualbook/leg/v1"
ENTRY_TAG = "dualbook/entry/v1"
SEAL_TAG = "dualbook/seal/v1"

#: the order of record types in an export file (after the manifest, before the end record)
RECORD_ORDER = ("currency", "book", "account", "seal", "sealed_entry", "entry", "posting")


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
class SortKey:
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
