"""The tamper-evident journal from Python: the sealer, verification in the database, the export, and the
comparison of the database with an earlier export (docs/audit.md).

The hashing itself lives twice, on purpose: in SQL (``deploy/function_audit_hash.sql``, used by the sealer and by
``ledger.audit_verify()``) and in :mod:`dualbook.audit.encoding` (plain Python, used by :mod:`dualbook.audit.verify`
to verify an export offline). This module only moves data between the two: it calls the SQL functions, and it
writes an export that the offline verifier reads.

Example::

    with Ledger.connect(url) as ledger:
        seal(ledger)                           # one pass of the sealer
        report = verify_database(ledger)       # everything recomputed in the database
        with open("ledger.jsonl", "wb") as f:
            export(ledger, f)
    assert offline.verify_file(Path("ledger.jsonl")).ok     # offline, no database
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import psycopg
from psycopg import IsolationLevel

from dualbook.audit import verify as offline
from dualbook.audit.verify import ENCODING, FORMAT, VERSION, ExportData, Finding, Report
from dualbook.calls import Call, Row
from dualbook.ledger import Ledger

#: default number of entries one call of the sealer seals at most
DEFAULT_MAX = 10_000
#: default time one call of the sealer waits for open transactions that may still commit a lower entry id
DEFAULT_WAIT_MS = 2_000


@dataclass(frozen=True)
class SealResult:
    """What one call of ``ledger.seal_journal()`` did.

    status: ``sealed`` (entries were sealed), ``idle`` (nothing new to seal), ``busy`` (another sealer is
    running) or ``waiting`` (transactions that may still commit a lower entry id stayed open longer than the wait;
    ``waiting_for`` lists their pids, None for a prepared transaction).
    """

    status: str
    entries: int
    seals: int
    sealed_through: int | None
    waiting_for: list[int | None]


@dataclass(frozen=True)
class BookStatus:
    """The chain of one book: how many seals, how far it reaches, its head (the newest seal's hash)."""

    book_id: int
    book: str
    seals: int
    sealed_through: int | None
    head: str | None
    sealed: int
    entries: int


def _seal_result(row: Row) -> SealResult:
    return SealResult(
        status=row[0],
        entries=int(row[1] or 0),
        seals=int(row[2] or 0),
        sealed_through=None if row[3] is None else int(row[3]),
        waiting_for=list(row[4] or []),
    )


def seal_journal_call(max_entries: int = DEFAULT_MAX, wait_ms: int = DEFAULT_WAIT_MS) -> Call[SealResult]:
    """``ledger.seal_journal(p_max, p_wait_ms)``, in READ COMMITTED (the sealer refuses anything else: LD303)."""
    return Call(
        "SELECT status, entries, seals, sealed_through, waiting_for FROM ledger.seal_journal(%s, %s)",
        (max_entries, wait_ms),
        lambda rows: _seal_result(rows[0]),
        write=True,
        isolation=IsolationLevel.READ_COMMITTED,
    )


def audit_verify_call() -> Call[list[Finding]]:
    """``ledger.audit_verify()``: every finding, in order."""
    return Call(
        "SELECT kind, book, seal_no, entry_id, subject, detail FROM ledger.audit_verify() ORDER BY ord",
        (),
        lambda rows: [Finding(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows],
        write=False,
        isolation=IsolationLevel.REPEATABLE_READ,
    )


def status_call() -> Call[list[BookStatus]]:
    """Per book: seals, how far the chain reaches, its head hash, sealed and total entries."""
    return Call(
        """
        SELECT b.book_id, b.code,
               (SELECT count(*) FROM ledger.audit_seals AS s WHERE s.book_id = b.book_id),
               (SELECT max(s.to_entry_id) FROM ledger.audit_seals AS s WHERE s.book_id = b.book_id),
               (SELECT s.seal_hash FROM ledger.audit_seals AS s WHERE s.book_id = b.book_id
                 ORDER BY s.seal_no DESC LIMIT 1),
               (SELECT count(*) FROM ledger.audit_sealed_entries AS x WHERE x.book_id = b.book_id),
               (SELECT count(*) FROM ledger.audit_entries AS e WHERE e.book_id = b.book_id)
          FROM ledger.books AS b
         ORDER BY b.book_id
        """,
        (),
        lambda rows: [BookStatus(*r) for r in rows],
        write=False,
        isolation=IsolationLevel.REPEATABLE_READ,
    )


# --- the sealer --------------------------------------------------------------------------------------------------
def seal(ledger: Ledger, max_entries: int = DEFAULT_MAX, wait_ms: int = DEFAULT_WAIT_MS) -> SealResult:
    """One call of the sealer (see :class:`SealResult`)."""
    return ledger.execute(seal_journal_call(max_entries, wait_ms))[0]


def seal_pass(ledger: Ledger, max_entries: int = DEFAULT_MAX, wait_ms: int = DEFAULT_WAIT_MS) -> SealResult:
    """Seal everything sealable now: call the sealer again while a call fills ``max_entries``. Returns the totals,
    with the status of the last call."""
    entries = seals = 0
    while True:
        r = seal(ledger, max_entries, wait_ms)
        entries += r.entries
        seals += r.seals
        if r.status != "sealed" or r.entries < max_entries:
            final = "sealed" if r.status == "idle" and entries else r.status
            return SealResult(final, entries, seals, r.sealed_through, r.waiting_for)


def status(ledger: Ledger) -> list[BookStatus]:
    """The chain of every book (see :class:`BookStatus`)."""
    return ledger.execute(status_call())[0]


def verify_database(ledger: Ledger) -> Report:
    """``ledger.audit_verify()`` plus totals: every hash, seal and balance recomputed inside the database."""
    findings = ledger.execute(audit_verify_call())[0]
    books = status(ledger)
    return Report(
        findings=findings,
        books=len(books),
        seals=sum(b.seals for b in books),
        entries=sum(b.entries for b in books),
        sealed=sum(b.sealed for b in books),
        unsealed=sum(b.entries - b.sealed for b in books),
        sealed_through=max((b.sealed_through or 0 for b in books), default=0),
        heads={b.book: b.head for b in books if b.head is not None},
    )


# --- the export --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    records: int
    entries: int
    seals: int
    sha256: str


@contextmanager
def snapshot(ledger: Ledger) -> Iterator[psycopg.Connection[Any]]:
    """A pool connection in one REPEATABLE READ, READ ONLY transaction: every query sees the same snapshot."""
    with ledger.pool.connection() as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            with conn.transaction():
                yield conn
        finally:
            if not conn.closed:
                conn.read_only = False
                conn.isolation_level = IsolationLevel.SERIALIZABLE


def _s(value: Any) -> str | None:
    """A 64-bit integer as decimal text (JSON numbers lose precision above 2^53 in many readers)."""
    return None if value is None else str(value)


_QUERIES: list[tuple[str, str, Callable[[Row], dict[str, Any]]]] = [
    (
        "currency",
        "SELECT code, exponent, name FROM ledger.currencies ORDER BY code",
        lambda r: {"code": r[0], "exponent": r[1], "name": r[2]},
    ),
    (
        "book",
        "SELECT book_id, code, name FROM ledger.books ORDER BY book_id",
        lambda r: {"book_id": r[0], "code": r[1], "name": r[2]},
    ),
    (
        "account",
        "SELECT b.book_id, a.account_id, a.code, a.currency, a.type, a.deferred, a.status, a.debit_balance, "
        "a.postings, a.lower_limit, a.upper_limit "
        "FROM ledger.accounts AS a JOIN ledger.books AS b ON b.code = a.book ORDER BY b.book_id, a.account_id",
        lambda r: {
            "book_id": r[0],
            "account_id": _s(r[1]),
            "code": r[2],
            "currency": r[3],
            "account_type": r[4],
            "deferred": r[5],
            "status": r[6],
            "debit_balance": _s(r[7]),
            "postings": _s(r[8]),
            "lower_limit": _s(r[9]),
            "upper_limit": _s(r[10]),
        },
    ),
    (
        "seal",
        "SELECT book_id, book_code, seal_no, from_entry_id, to_entry_id, entry_count, merkle_root, prev_hash, "
        "sealed_at, seal_hash FROM ledger.audit_seals ORDER BY book_id, seal_no",
        lambda r: {
            "book_id": r[0],
            "book_code": r[1],
            "seal_no": _s(r[2]),
            "from_entry_id": _s(r[3]),
            "to_entry_id": _s(r[4]),
            "entry_count": r[5],
            "merkle_root": r[6],
            "prev_hash": r[7],
            "sealed_at": r[8],
            "seal_hash": r[9],
        },
    ),
    (
        "sealed_entry",
        "SELECT book_id, entry_id, seal_no, entry_hash, leg_hashes FROM ledger.audit_sealed_entries "
        "ORDER BY book_id, entry_id",
        lambda r: {"book_id": r[0], "entry_id": _s(r[1]), "seal_no": _s(r[2]), "entry_hash": r[3], "leg_hashes": r[4]},
    ),
    (
        "entry",
        "SELECT book_id, entry_id, idempotency_key, request_hash, description, metadata, effective_date, "
        "recorded_at, reverses_entry_id FROM ledger.audit_entries ORDER BY book_id, entry_id",
        lambda r: {
            "book_id": r[0],
            "entry_id": _s(r[1]),
            "idempotency_key": r[2],
            "request_hash": r[3],
            "description": r[4],
            "metadata": r[5],
            "effective_date": r[6],
            "recorded_at": r[7],
            "reverses_entry_id": _s(r[8]),
        },
    ),
    (
        "posting",
        "SELECT book_id, entry_id, leg, account_id, account_code, amount, currency, account_seq, balance_after, "
        "sequenced_account_seq, sequenced_balance_after FROM ledger.audit_postings ORDER BY book_id, entry_id, leg",
        lambda r: {
            "book_id": r[0],
            "entry_id": _s(r[1]),
            "leg": r[2],
            "account_id": _s(r[3]),
            "account_code": r[4],
            "amount": _s(r[5]),
            "currency": r[6],
            "account_seq": _s(r[7]),
            "balance_after": _s(r[8]),
            "sequenced_account_seq": _s(r[9]),
            "sequenced_balance_after": _s(r[10]),
        },
    ),
]


def _line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def export(ledger: Ledger, out: IO[bytes]) -> ExportSummary:
    """Write the whole ledger — currencies, books, accounts, seals, sealed entry hashes, entries, postings — as
    one consistent snapshot in the export format of docs/audit.md (JSON Lines: a manifest, the records, an end
    record with the SHA-256 of everything before it). Rows are streamed with server-side cursors."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}

    def write(record: Mapping[str, Any]) -> None:
        data = _line(record)
        digest.update(data)
        out.write(data)

    with snapshot(ledger) as conn:
        row = conn.execute(
            "SELECT current_database(), current_setting('server_version'), "
            "(SELECT max(to_entry_id) FROM ledger.audit_seals)"
        ).fetchone()
        assert row is not None
        write(
            {
                "type": "manifest",
                "format": FORMAT,
                "version": VERSION,
                "encoding": ENCODING,
                "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "database": row[0],
                "server_version": row[1],
                "sealed_through": _s(row[2]),
                "record_types": list(offline.RECORD_ORDER),
            }
        )
        for kind, query, build in _QUERIES:
            n = 0
            with conn.cursor(name=f"dualbook_export_{kind}") as cur:
                cur.itersize = 5000
                cur.execute(query)
                for r in cur:
                    write({"type": kind, **build(r)})
                    n += 1
            counts[kind] = n
    total = sum(counts.values())
    sha = digest.hexdigest()
    out.write(_line({"type": "end", "records": total, "sha256": sha}))
    return ExportSummary(records=total, entries=counts["entry"], seals=counts["seal"], sha256=sha)


def current_data(ledger: Ledger) -> ExportData:
    """The database as it is now, read exactly as an export would write it (for comparing with an export)."""
    buf = io.BytesIO()
    export(ledger, buf)
    return offline.read_export(io.BytesIO(buf.getvalue()))


# --- the database against an earlier export ----------------------------------------------------------------------
_ACCOUNT_FIXED = ("code", "currency", "account_type", "deferred")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name)


def _differs(a: Any, b: Any, names: tuple[str, ...]) -> str | None:
    """The first of ``names`` whose value differs between a (the export) and b (the database), described."""
    for name in names:
        x, y = _get(a, name), _get(b, name)
        if x != y:
            return f"{name}: export {x!r}, database {y!r}"
    return None


_SEAL_FIELDS = (
    "book_code",
    "from_entry_id",
    "to_entry_id",
    "entry_count",
    "merkle_root",
    "prev_hash",
    "sealed_at",
    "seal_hash",
)
_ENTRY_FIELDS = (
    "idempotency_key",
    "request_hash",
    "description",
    "metadata",
    "effective_date",
    "recorded_at",
    "reverses_entry_id",
)
_LEG_FIELDS = ("account_id", "account_code", "amount", "currency", "account_seq", "balance_after")


def compare(anchor: ExportData, current: ExportData) -> list[Finding]:
    """What an earlier export (the anchor) holds that the database no longer holds the same way: seals and
    entries gone (the tail truncated, history rewritten and re-sealed), fields changed (named, with both values),
    legs gone, changed or added, and the fixed attributes of accounts changed. History after the export is not
    compared: new entries and seals, and changing balances, are expected."""
    codes = {book_id: str(rec.get("code")) for book_id, rec in anchor.books.items()}
    found: list[tuple[tuple[int, int, int, int, int], Finding]] = []

    def add(
        book_id: int, seal_no: int | None, rank: int, entry_id: int | None, kind: str, subject: str, detail: str
    ) -> None:
        key = (book_id, seal_no is None, seal_no or 0, rank, entry_id or 0)
        found.append((key, Finding(kind, codes.get(book_id), seal_no, entry_id, subject, detail)))

    now_seals = {(s.book_id, s.seal_no): s for s in current.seals}
    for s in anchor.seals:
        book_id, no = int(s.book_id), int(s.seal_no)
        mine = now_seals.get((s.book_id, s.seal_no))
        if mine is None:
            add(
                book_id,
                no,
                0,
                None,
                "anchor_seal_missing",
                f"seal {no}",
                f"covers entries ({s.from_entry_id}, {s.to_entry_id}] with hash {s.seal_hash} in the export of "
                f"{anchor.manifest.get('exported_at')}, but is not in the database: the chain was cut back or "
                "rewritten",
            )
            continue
        diff = _differs(s, mine, _SEAL_FIELDS)
        if diff:
            add(book_id, no, 0, None, "anchor_seal_changed", f"seal {no}", diff)

    sealed_in = {(se.book_id, se.entry_id): int(se.seal_no) for se in anchor.sealed_entries}
    now_entries = {(e.book_id, e.entry_id): e for e in current.entries}
    legs_then: dict[tuple[str, str], dict[str, offline.Leg]] = {}
    for p in anchor.postings:
        legs_then.setdefault((p.book_id, p.entry_id), {})[p.leg] = p
    legs_now: dict[tuple[str, str], dict[str, offline.Leg]] = {}
    for p in current.postings:
        legs_now.setdefault((p.book_id, p.entry_id), {})[p.leg] = p
    for e in anchor.entries:
        key = (e.book_id, e.entry_id)
        book_id, entry_id = int(e.book_id), int(e.entry_id)
        in_seal = sealed_in.get(key)
        db_entry = now_entries.get(key)
        if db_entry is None:
            add(
                book_id,
                in_seal,
                1,
                entry_id,
                "anchor_entry_missing",
                f"entry {entry_id}",
                f"is in the export (key {e.idempotency_key!r}) but not in the database: deleted",
            )
            continue
        diff = _differs(e, db_entry, _ENTRY_FIELDS)
        if diff:
            add(book_id, in_seal, 1, entry_id, "anchor_entry_changed", f"entry {entry_id}", diff)
            continue
        then, now = legs_then.get(key, {}), legs_now.get(key, {})
        for leg in sorted(set(then) | set(now), key=int):
            subject = f"entry {entry_id} leg {leg}"
            if leg not in now:
                add(
                    book_id,
                    in_seal,
                    1,
                    entry_id,
                    "anchor_leg_missing",
                    subject,
                    "is in the export but not in the database: deleted",
                )
                break
            if leg not in then:
                add(
                    book_id,
                    in_seal,
                    1,
                    entry_id,
                    "anchor_leg_added",
                    subject,
                    f"is in the database but was not in the export: account {now[leg].account_code!r}, "
                    f"amount {now[leg].amount} {now[leg].currency}",
                )
                break
            diff = _differs(then[leg], now[leg], _LEG_FIELDS)
            if diff:
                add(book_id, in_seal, 1, entry_id, "anchor_leg_changed", subject, diff)
                break

    for key, acc in anchor.accounts.items():
        mine_acc = current.accounts.get(key)
        book_id = int(key[0])
        if mine_acc is None:
            add(
                book_id,
                None,
                2,
                None,
                "anchor_account_missing",
                f"account {acc.get('code')}",
                "is in the export but not in the database",
            )
            continue
        diff = _differs(acc, mine_acc, _ACCOUNT_FIXED)
        if diff:
            add(book_id, None, 2, None, "anchor_account_changed", f"account {acc.get('code')}", diff)

    found.sort(key=lambda x: x[0])
    return [f for _, f in found]


def verify_against(ledger: Ledger, anchor: ExportData) -> Report:
    """:func:`verify_database`, then the anchor file's own offline verification (findings prefixed ``anchor:``),
    then :func:`compare` of the database with it."""
    report = verify_database(ledger)
    own = offline.verify_data(anchor)
    report.findings += [
        Finding("anchor:" + f.kind, f.book, f.seal_no, f.entry_id, f.subject, f.detail) for f in own.findings
    ]
    report.findings += compare(anchor, current_data(ledger))
    return report


def wait_interval(every: float, started: float) -> float:
    """Seconds to sleep so that passes start ``every`` seconds apart (0 if the pass took longer)."""
    return max(0.0, every - (time.monotonic() - started))
