"""The SQL calls of the ledger API and their typed results — one implementation shared by the sync
:class:`~dualbook.Ledger` and the async :class:`~dualbook.AsyncLedger`.

Each API function becomes a :class:`Call`: the SQL text, its parameters, whether it writes, and how to turn the
returned row into a dataclass. The clients only decide how to execute a call (pool, transaction, retries).
No business rule lives here: validation, limits and idempotency are the database's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import psycopg
import psycopg.conninfo
from psycopg import IsolationLevel
from psycopg.types.json import Jsonb

from dualbook import errors

T = TypeVar("T")
Row = tuple[Any, ...]


# --- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leg:
    """One leg of an entry: amount in minor units, positive = debit, negative = credit."""

    account: str
    amount: int
    currency: str

    def as_json(self) -> dict[str, Any]:
        amount = _minor_units(self.amount, {"field": "amount"}, strict=True)
        return {"account": self.account, "amount": amount, "currency": self.currency}


SERIALIZABLE_OPTION = "-c default_transaction_isolation=serializable"


def serializable_conninfo(url: str) -> str:
    """``url`` with ``default_transaction_isolation=serializable`` added to its startup options: on such a
    connection in autocommit mode a single statement is a SERIALIZABLE transaction of its own, so a ledger call
    is one round trip (no BEGIN, no COMMIT) and the setting costs no query. The URL's own options are kept."""
    params = psycopg.conninfo.conninfo_to_dict(url)
    options = str(params.get("options") or "").strip()
    params["options"] = f"{options} {SERIALIZABLE_OPTION}".strip()
    return psycopg.conninfo.make_conninfo("", **params)


def debit(account: str, amount: int, currency: str) -> Leg:
    """A debit leg (amount > 0 given, stored positive)."""
    return Leg(account, amount, currency)


def credit(account: str, amount: int, currency: str) -> Leg:
    """A credit leg (amount > 0 given, stored negative)."""
    return Leg(account, -amount, currency)


@dataclass(frozen=True)
class BalanceAssertion:
    """'account's normal balance after the entry <op> balance', checked by the database in the same transaction."""

    account: str
    op: str
    balance: int

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account, "op": self.op, "balance": _minor_units(self.balance, {"field": "balance"})}


@dataclass(frozen=True)
class PostResult:
    """What post_entry / reverse_entry returned for an entry posted now or before (a refusal is raised).

    created: False when the key was already posted with the same request (a replay; nothing was written).
    attempts: how many transactions it took (1 = no retry).
    recovered: an earlier attempt lost its connection with the outcome unknown, and the retry with the same key
    resolved it. Then ``created`` is False if that earlier attempt had in fact committed.
    """

    entry_id: int
    created: bool
    recorded_at: datetime
    balances: dict[str, int]
    attempts: int = 1
    recovered: bool = False


@dataclass(frozen=True)
class EntryRequest:
    """One entry of a batch (see :func:`post_entries`): the arguments of post_entry."""

    key: str
    legs: Sequence[Leg | Mapping[str, Any]]
    description: str | None = None
    metadata: Mapping[str, Any] | None = None
    effective_date: date | None = None
    assertions: Sequence[BalanceAssertion | Mapping[str, Any]] | None = None

    def as_json(self, idx: int | None = None) -> dict[str, Any]:
        """The entry as JSON; ``idx`` (its 1-based position in a batch) names it in an InvalidArgument."""
        out: dict[str, Any] = {"key": self.key, "legs": self.legs}
        if self.description is not None:
            out["description"] = self.description
        if self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        if self.effective_date is not None:
            out["effective_date"] = self.effective_date.isoformat()
        if self.assertions:
            out["assertions"] = self.assertions
        return _entry_json(out, idx)


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one entry of a batch: status 'posted', 'replayed', 'refused' (a refusal recorded with the
    key, returned again for every later call with it) or 'rejected' (the key stays unused), with its error."""

    idx: int
    status: str
    entry_id: int | None
    created: bool | None
    recorded_at: datetime | None
    balances: dict[str, int] | None
    error_code: str | None
    error_message: str | None
    error_detail: str | None

    @property
    def error(self) -> errors.LedgerError | None:
        """The rejection as the exception class of its SQLSTATE (not raised), or None."""
        if self.error_code is None:
            return None
        return errors.from_fields(self.error_code, self.error_message, self.error_detail)


@dataclass(frozen=True)
class KeyOutcome:
    """What became of an idempotency key (ledger.get_outcome): status 'posted' (``entry_id``), 'refused' (the
    recorded refusal: ``error_code``, ``error_message``, ``error_detail``) or 'unknown' (no call with the key
    has committed: the key is unused). ``recorded_at``: when the entry or the refusal was recorded."""

    status: str
    entry_id: int | None
    recorded_at: datetime | None
    error_code: str | None
    error_message: str | None
    error_detail: str | None
    error_hint: str | None = None

    @property
    def error(self) -> errors.LedgerError | None:
        """The recorded refusal as the exception class of its SQLSTATE (not raised), or None."""
        if self.error_code is None:
            return None
        return errors.from_fields(self.error_code, self.error_message, self.error_detail, hint=self.error_hint)


@dataclass(frozen=True)
class AccountResult:
    account_id: int
    created: bool
    attempts: int = 1


@dataclass(frozen=True)
class Balance:
    """An account's state: ``balance`` is the normal balance in minor units."""

    account_id: int
    code: str
    currency: str
    exponent: int
    type: str
    status: str
    balance: int
    seq: int
    lower_limit: int | None
    upper_limit: int | None


@dataclass(frozen=True)
class EntryLeg:
    leg: int
    account: str
    amount: int
    currency: str
    #: None while the leg of a deferred account waits in the queue for the sequencer
    account_seq: int | None
    balance_after: int | None


@dataclass(frozen=True)
class Entry:
    entry_id: int
    idempotency_key: str
    description: str | None
    metadata: dict[str, Any]
    effective_date: date
    recorded_at: datetime
    reverses_entry_id: int | None
    reversed_by_entry_id: int | None
    legs: list[EntryLeg] = field(default_factory=list)


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int
    name: str


@dataclass(frozen=True)
class AccountRow:
    """A row of ledger.accounts."""

    book: str
    account_id: int
    code: str
    currency: str
    type: str
    status: str
    #: None only if a deferred account's balance left the 64-bit range (books_check: balance_range)
    balance: int | None
    postings: int
    lower_limit: int | None
    upper_limit: int | None
    deferred: bool = False
    #: legs of a deferred account not yet folded by the sequencer
    queued: int = 0


@dataclass(frozen=True)
class Violation:
    """A row of ledger.books_check(): one broken invariant."""

    check_name: str
    book: str
    subject: str
    detail: str


# --- calls ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call(Generic[T]):
    """One statement of the SQL API, and how to read its result."""

    sql: str
    params: tuple[Any, ...]
    parse: Callable[[list[Row]], T]
    write: bool
    #: run in this isolation level instead of the pool's SERIALIZABLE (only the sequencer needs it)
    isolation: IsolationLevel | None = None


def _one(parse_row: Callable[[Row], T]) -> Callable[[list[Row]], T]:
    def parse(rows: list[Row]) -> T:
        return parse_row(rows[0])

    return parse


_POST_COLS = "status, entry_id, created, recorded_at, balances, error_code, error_message, error_detail, error_hint"


def _post_result(row: Row) -> PostResult:
    """A row of post_entry / reverse_entry; a refusal (recorded with the key) is raised as its exception."""
    status, entry_id, created, recorded_at, balances, error_code, error_message, error_detail, error_hint = row
    if status == "refused":
        raise errors.from_fields(error_code, error_message, error_detail, hint=error_hint)
    return PostResult(entry_id=entry_id, created=created, recorded_at=recorded_at, balances=dict(balances or {}))


def _entry(row: Row) -> Entry:
    return Entry(
        entry_id=row[0],
        idempotency_key=row[1],
        description=row[2],
        metadata=row[3],
        effective_date=row[4],
        recorded_at=row[5],
        reverses_entry_id=row[6],
        reversed_by_entry_id=row[7],
        legs=[EntryLeg(**leg) for leg in (row[8] or [])],
    )


def _minor_units(value: Any, where: dict[str, Any], *, strict: bool = False) -> Any:
    """An amount as the database takes it: an int, or an integral Decimal as that int. A float or a fractional
    Decimal raises InvalidArgument naming the field (no binary fraction ever reaches the database); with
    ``strict`` (a Leg) anything else too. Other values in a plain dict (a string, None) are the database's to
    judge."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if strict or isinstance(value, (float, Decimal, bool)):
        place = " ".join(f"{k} {v}" for k, v in where.items() if k != "field")
        raise errors.InvalidArgument(
            f"{place + ': ' if place else ''}{where['field']} must be an integer of minor units, not {value!r}",
            context=where,
        )
    return value


def _legs_list(legs: Iterable[Leg | Mapping[str, Any]], entry: int | None = None) -> list[dict[str, Any]]:
    out = []
    for i, leg in enumerate(legs, 1):
        where = ({"entry": entry} if entry else {}) | {"leg": i, "field": "amount"}
        item = (
            {"account": leg.account, "amount": leg.amount, "currency": leg.currency}
            if isinstance(leg, Leg)
            else dict(leg)
        )
        if "amount" in item:
            item["amount"] = _minor_units(item["amount"], where, strict=isinstance(leg, Leg))
        out.append(item)
    return out


def _assertions_list(
    assertions: Iterable[BalanceAssertion | Mapping[str, Any]], entry: int | None = None
) -> list[dict[str, Any]]:
    out = []
    for i, a in enumerate(assertions, 1):
        item = {"account": a.account, "op": a.op, "balance": a.balance} if isinstance(a, BalanceAssertion) else dict(a)
        if "balance" in item:
            where = ({"entry": entry} if entry else {}) | {"assertion": i, "field": "balance"}
            item["balance"] = _minor_units(item["balance"], where)
        out.append(item)
    return out


def _entry_json(entry: Mapping[str, Any], idx: int | None = None) -> dict[str, Any]:
    """A batch entry (an EntryRequest's fields or a plain dict) as JSON: Leg and BalanceAssertion objects, integral
    Decimal amounts and a date are converted; ``idx`` (1-based) names the entry in an error."""
    out = dict(entry)
    if isinstance(out.get("legs"), (list, tuple)):
        out["legs"] = _legs_list(out["legs"], idx)
    if isinstance(out.get("assertions"), (list, tuple)):
        out["assertions"] = _assertions_list(out["assertions"], idx)
    if isinstance(out.get("effective_date"), date):
        out["effective_date"] = out["effective_date"].isoformat()
    if isinstance(out.get("metadata"), Mapping):
        out["metadata"] = dict(out["metadata"])
    return out


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
            Jsonb(_legs_list(legs)),
            description,
            Jsonb(dict(metadata)) if metadata is not None else None,
            effective_date,
            Jsonb(_assertions_list(assertions)) if assertions else None,
            book,
        ),
        _one(_post_result),
        write=True,
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
                [e.as_json(i) if isinstance(e, EntryRequest) else _entry_json(e, i) for i, e in enumerate(entries, 1)]
            ),
            atomic,
            book,
        ),
        lambda rows: [BatchResult(*r) for r in rows],
        write=True,
    )


def post_entries_encoded(
    documents: Sequence[str], *, atomic: bool = False, book: str = "default"
) -> Call[list[BatchResult]]:
    """:func:`post_entries` with each entry already encoded as JSON text (the group poster encodes each request in
    its caller's thread, so that a request that cannot be encoded fails alone)."""
    return Call(
        _POST_ENTRIES.replace("post_entries(%s,", "post_entries(%s::jsonb,"),
        ("[" + ",".join(documents) + "]", atomic, book),
        lambda rows: [BatchResult(*r) for r in rows],
        write=True,
    )


def reverse_entry(entry_id: int, key: str, *, reason: str | None = None, book: str = "default") -> Call[PostResult]:
    return Call(
        f"SELECT {_POST_COLS} FROM ledger.reverse_entry(%s, %s, %s, %s)",
        (entry_id, key, reason, book),
        _one(_post_result),
        write=True,
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


def create_book(code: str, name: str | None = None) -> Call[int]:
    return Call(
        "SELECT book_id FROM ledger.create_book(%s, %s)",
        (code, name),
        _one(lambda r: int(r[0])),
        write=True,
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
        _one(lambda r: Balance(*r)),
        write=False,
    )


_ENTRY_COLS = (
    "entry_id, idempotency_key, description, metadata, effective_date, recorded_at, "
    "reverses_entry_id, reversed_by_entry_id, legs"
)


def get_entry(entry_id: int, *, book: str = "default") -> Call[Entry]:
    return Call(f"SELECT {_ENTRY_COLS} FROM ledger.get_entry(%s, %s)", (entry_id, book), _one(_entry), write=False)


def get_entry_by_key(key: str, *, book: str = "default") -> Call[Entry]:
    return Call(f"SELECT {_ENTRY_COLS} FROM ledger.get_entry_by_key(%s, %s)", (key, book), _one(_entry), write=False)


def get_outcome(key: str, *, book: str = "default") -> Call[KeyOutcome]:
    return Call(
        "SELECT outcome, entry_id, recorded_at, error_code, error_message, error_detail, error_hint "
        "FROM ledger.get_outcome(%s, %s)",
        (key, book),
        _one(lambda r: KeyOutcome(*r)),
        write=False,
    )


def get_currency(code: str) -> Call[Currency]:
    return Call(
        "SELECT code, exponent, name FROM ledger.get_currency(%s)",
        (code,),
        _one(lambda r: Currency(*r)),
        write=False,
    )


def currencies() -> Call[dict[str, Currency]]:
    return Call(
        "SELECT code, exponent, name FROM ledger.currencies ORDER BY code",
        (),
        lambda rows: {r[0]: Currency(*r) for r in rows},
        write=False,
    )


def list_accounts(*, book: str = "default", prefix: str = "", limit: int = 1000) -> Call[list[AccountRow]]:
    return Call(
        "SELECT book, account_id, code, currency, type, status, balance, postings, lower_limit, upper_limit, "
        "deferred, queued FROM ledger.accounts WHERE book = %s AND code LIKE %s ORDER BY code LIMIT %s",
        (book, prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", limit),
        lambda rows: [AccountRow(*r) for r in rows],
        write=False,
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
        lambda rows: [Violation(*r) for r in rows],
        write=False,
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
