"""The SQL calls of the ledger API and their typed results — one implementation shared by the sync
:class:`~dualbook.Ledger` and the async :class:`~dualbook.AsyncLedger`.

Each API function becomes a :class:`Call`: the SQL text, its parameters, whether it writes, and how to turn the
returned row into a dataclass. The clients only decide how to execute a call (pool, transaction, retries).
No business rule lives here: validation, limits and idempotency are the database's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, NamedTuple, TypeVar

import psycopg
import psycopg.conninfo
from psycopg import IsolationLevel
from psycopg.rows import class_row, dict_row, tuple_row
from psycopg.types.json import Jsonb

from dualbook import errors
from dualbook.results import (
    AccountResult,
    AccountRow,
    Balance,
    BalanceAssertion,
    BatchResult,
    BookResult,
    Currency,
    Entry,
    EntryLeg,
    EntryRequest,
    KeyOutcome,
    Leg,
    PostResult,
    Violation,
    assertions_json,
    credit,
    debit,
    entry_json,
    legs_json,
)

T = TypeVar("T")
Row = tuple[Any, ...]


__all__ = [
    "AccountResult",
    "AccountRow",
    "Balance",
    "BalanceAssertion",
    "BatchResult",
    "BookResult",
    "Currency",
    "Entry",
    "EntryLeg",
    "EntryRequest",
    "KeyOutcome",
    "Leg",
    "PostResult",
    "Violation",
    "credit",
    "debit",
]


SERIALIZABLE_OPTION = "-c default_transaction_isolation=serializable"


def serializable_conninfo(url: str) -> str:
    """``url`` with ``default_transaction_isolation=serializable`` added to its startup options: on such a
    connection in autocommit mode a single statement is a SERIALIZABLE transaction of its own, so a ledger call
    is one round trip (no BEGIN, no COMMIT) and the setting costs no query. The URL's own options are kept."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    options = str(params.get("options") or "").strip()
    params["options"] = f"{options} {SERIALIZABLE_OPTION}".strip()
    return psycopg.conninfo.make_conninfo("", **params)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One statement of the SQL API, and how to read its result."""

    sql: str
    params: tuple[Any, ...]
    parse: Callable[[list[Any]], T]
    write: bool
    #: run in this isolation level instead of the pool's SERIALIZABLE (only the sequencer needs it)
    isolation: IsolationLevel | None = None
    #: how the cursor builds each row: a result dataclass by column name (``class_row``), a dict, or a tuple
    row_factory: Any = None


class Executed(NamedTuple, Generic[T]):
    """What a client's ``execute`` returns: the parsed result, the transactions it took (1 = no retry), and
    whether an earlier attempt lost its connection with the outcome unknown (resolved by the retry)."""

    result: T
    attempts: int
    recovered: bool


def fetch_rows(conn: psycopg.Connection[Any], call: Call[Any]) -> list[Any]:
    """Run one call's statement on ``conn``: its rows, built by the call's row factory (``call.parse`` reads
    them). No transaction handling and no retries: the clients do those."""
    with conn.cursor(row_factory=call.row_factory or tuple_row) as cur:
        return cur.execute(call.sql, call.params).fetchall()


async def afetch_rows(conn: psycopg.AsyncConnection[Any], call: Call[Any]) -> list[Any]:
    """:func:`fetch_rows` on an async connection."""
    async with conn.cursor(row_factory=call.row_factory or tuple_row) as cur:
        await cur.execute(call.sql, call.params)
        return await cur.fetchall()


def _one(parse_row: Callable[[Any], T]) -> Callable[[list[Any]], T]:
    def parse(rows: list[Any]) -> T:
        return parse_row(rows[0])

    return parse


def _first(rows: list[T]) -> T:
    return rows[0]


def _all(rows: list[T]) -> list[T]:
    return rows


_POST_COLS = "status, entry_id, created, recorded_at, balances, error_code, error_message, error_detail, error_hint"


def _post_result(row: dict[str, Any]) -> PostResult:
    """A row of post_entry / reverse_entry; a refusal (recorded with the key) is raised as its exception."""
    if row["status"] == "refused":
        raise errors.from_fields(row["error_code"], row["error_message"], row["error_detail"], hint=row["error_hint"])
    return PostResult(
        entry_id=row["entry_id"],
        created=row["created"],
        recorded_at=row["recorded_at"],
        balances=dict(row["balances"] or {}),
    )


def load_metadata(text: str) -> dict[str, Any] | None:
    """Stored metadata (PostgreSQL's jsonb text) -> a dict, or None when it nests deeper than Python's json can
    follow (about 1,000 levels: RecursionError). The API refuses more than 32 levels (LD111), but an entry
    written before that limit, or by a superuser, can nest as deep as the server parses."""
    try:
        value = json.loads(text)
    except RecursionError:
        return None
    return value if isinstance(value, dict) else None


def _entry(row: dict[str, Any]) -> Entry:
    legs = [EntryLeg(**leg) for leg in (row.pop("legs") or [])]
    text = row.pop("metadata")
    return Entry(**row, metadata=load_metadata(text), legs=legs, metadata_text=text)


def post_entry(
    key: str,
    legs: Iterable[Leg | Mapping[str, Any]],
    *,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    effective_date: date | None = None,
    assertions: Sequence[BalanceAssertion | Mapping[str, Any]] | None = None,
    book: str = "default",
) -> Call[PostResult]:
    return Call(
        f"SELECT {_POST_COLS} FROM ledger.post_entry(%s, %s, %s, %s, %s, %s, %s)",
        (
            key,
            Jsonb(legs_json(legs)),
            description,
            Jsonb(dict(metadata)) if metadata is not None else None,
            effective_date,
            Jsonb(assertions_json(assertions)) if assertions else None,
            book,
        ),
        _one(_post_result),
        write=True,
        row_factory=dict_row,
    )


_POST_ENTRIES = (
    "SELECT idx, status, entry_id, created, recorded_at, balances, error_code, error_message, error_detail "
    "FROM ledger.post_entries(%s, %s, %s)"
)


def post_entries(
    entries: Sequence[EntryRequest | Mapping[str, Any]], *, atomic: bool = False, book: str = "default"
) -> Call[list[BatchResult]]:
    return Call(
        _POST_ENTRIES,
        (
            Jsonb(
                [e.as_json(i) if isinstance(e, EntryRequest) else entry_json(e, i) for i, e in enumerate(entries, 1)]
            ),
            atomic,
            book,
        ),
        _all,
        write=True,
        row_factory=class_row(BatchResult),
    )


def post_entries_encoded(
    documents: Sequence[str], *, atomic: bool = False, book: str = "default"
) -> Call[list[BatchResult]]:
    """:func:`post_entries` with each entry already encoded as JSON text (the group poster encodes each request in
    its caller's thread, so that a request that cannot be encoded fails alone)."""
    return Call(
        _POST_ENTRIES.replace("post_entries(%s,", "post_entries(%s::jsonb,"),
        ("[" + ",".join(documents) + "]", atomic, book),
        _all,
        write=True,
        row_factory=class_row(BatchResult),
    )


def reverse_entry(
    entry_id: int, key: str, *, reason: str | None = None, book: str = "default", effective_date: date | None = None
) -> Call[PostResult]:
    return Call(
        f"SELECT {_POST_COLS} FROM ledger.reverse_entry(%s, %s, %s, %s, %s)",
        (entry_id, key, reason, book, effective_date),
        _one(_post_result),
        write=True,
        row_factory=dict_row,
    )


def create_account(
    code: str,
    currency: str,
    type: str,
    *,
    lower_limit: int | None = None,
    upper_limit: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    book: str = "default",
    deferred: bool = False,
) -> Call[AccountResult]:
    return Call(
        "SELECT account_id, created FROM ledger.create_account(%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            code,
            currency,
            type,
            lower_limit,
            upper_limit,
            Jsonb(dict(metadata)) if metadata is not None else None,
            book,
            deferred,
        ),
        _one(lambda r: AccountResult(account_id=r[0], created=r[1])),
        write=True,
    )


def close_account(code: str, *, book: str = "default") -> Call[datetime]:
    return Call(
        "SELECT closed_at FROM ledger.close_account(%s, %s)",
        (code, book),
        _one(lambda r: r[0]),
        write=True,
    )


def create_currency(code: str, exponent: int, name: str | None = None) -> Call[bool]:
    return Call(
        "SELECT created FROM ledger.create_currency(%s, %s, %s)",
        (code, exponent, name),
        _one(lambda r: bool(r[0])),
        write=True,
    )


def create_book(code: str, name: str | None = None) -> Call[BookResult]:
    return Call(
        "SELECT book_id, created FROM ledger.create_book(%s, %s)",
        (code, name),
        _first,
        write=True,
        row_factory=class_row(BookResult),
    )


def sequence_deferred(max_legs: int = 10_000) -> Call[int | None]:
    return Call(
        "SELECT ledger.sequence_deferred(%s)",
        (max_legs,),
        _one(lambda r: None if r[0] is None else int(r[0])),
        write=True,
        isolation=IsolationLevel.READ_COMMITTED,
    )


def get_balance(account: str, *, book: str = "default") -> Call[Balance]:
    return Call(
        "SELECT account_id, code, currency, exponent, type, status, balance, seq, lower_limit, upper_limit "
        "FROM ledger.get_balance(%s, %s)",
        (account, book),
        _first,
        write=False,
        row_factory=class_row(Balance),
    )


#: metadata comes as text, loaded by load_metadata(): psycopg's jsonb loader is json.loads, which raises
#: RecursionError on a document nested deeper than Python recurses.
_ENTRY_COLS = (
    "entry_id, idempotency_key, description, metadata::text AS metadata, effective_date, recorded_at, "
    "reverses_entry_id, reversed_by_entry_id, legs"
)


def get_entry(entry_id: int, *, book: str = "default") -> Call[Entry]:
    sql = f"SELECT {_ENTRY_COLS} FROM ledger.get_entry(%s, %s)"
    return Call(sql, (entry_id, book), _one(_entry), write=False, row_factory=dict_row)


def get_entry_by_key(key: str, *, book: str = "default") -> Call[Entry]:
    sql = f"SELECT {_ENTRY_COLS} FROM ledger.get_entry_by_key(%s, %s)"
    return Call(sql, (key, book), _one(_entry), write=False, row_factory=dict_row)


def get_outcome(key: str, *, book: str = "default") -> Call[KeyOutcome]:
    return Call(
        "SELECT outcome AS status, entry_id, recorded_at, error_code, error_message, error_detail, error_hint "
        "FROM ledger.get_outcome(%s, %s)",
        (key, book),
        _first,
        write=False,
        row_factory=class_row(KeyOutcome),
    )


def get_currency(code: str) -> Call[Currency]:
    return Call(
        "SELECT code, exponent, name FROM ledger.get_currency(%s)",
        (code,),
        _first,
        write=False,
        row_factory=class_row(Currency),
    )


def currencies() -> Call[dict[str, Currency]]:
    return Call(
        "SELECT code, exponent, name FROM ledger.currencies ORDER BY code",
        (),
        lambda rows: {c.code: c for c in rows},
        write=False,
        row_factory=class_row(Currency),
    )


def list_accounts(*, book: str = "default", prefix: str = "", limit: int = 1000) -> Call[list[AccountRow]]:
    return Call(
        "SELECT book, account_id, code, currency, type, status, balance, postings, lower_limit, upper_limit, "
        "deferred, queued FROM ledger.accounts WHERE book = %s AND code LIKE %s ORDER BY code LIMIT %s",
        (book, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", limit),
        _all,
        write=False,
        row_factory=class_row(AccountRow),
    )


def _exact_int(value: Any) -> int:
    """A numeric total (Decimal, any size) as an exact int; sums of 64-bit balances need not fit 64 bits."""
    as_int = int(value)
    if as_int != value:
        raise ValueError(f"not an integral amount: {value!r}")
    return as_int


def trial_balance(*, book: str = "default") -> Call[list[tuple[str, int, int, int]]]:
    return Call(
        "SELECT currency, debits, credits, net FROM ledger.trial_balance WHERE book = %s ORDER BY currency",
        (book,),
        lambda rows: [(r[0], _exact_int(r[1]), _exact_int(r[2]), _exact_int(r[3])) for r in rows],
        write=False,
    )


def books_check() -> Call[list[Violation]]:
    return Call(
        "SELECT check_name, book, subject, detail FROM ledger.books_check()",
        (),
        _all,
        write=False,
        row_factory=class_row(Violation),
    )


# --- errors -----------------------------------------------------------------------------------------
def map_error(exc: psycopg.Error) -> BaseException:
    """The dualbook exception for a ledger SQLSTATE; any other database error is returned unchanged."""
    state = exc.sqlstate
    if not state or errors.lookup(state) is None:
        return exc
    diag = exc.diag
    return errors.from_fields(
        state, diag.message_primary or str(exc), diag.message_detail, hint=diag.message_hint, cause=exc
    )
