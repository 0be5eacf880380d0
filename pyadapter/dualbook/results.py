"""The client's results and requests: what the SQL API returns, as frozen dataclasses (built by column name with
``psycopg.rows.class_row`` where a row maps one to one), and the JSON forms of legs, assertions and batch entries
(amounts as exact integers of minor units: a float never reaches the database)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

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
        return entry_json(out, idx)


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
class BookResult:
    """What ledger.create_book returned: the book's id, and whether this call created it (False: it existed
    with the same name, nothing changed)."""

    book_id: int
    created: bool


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
    #: None only when the stored document nests deeper than Python's json can load (about 1,000 levels; the API
    #: refuses more than 32, but older or superuser-written entries may); ``metadata_text`` has it then
    metadata: dict[str, Any] | None
    effective_date: date
    recorded_at: datetime
    reverses_entry_id: int | None
    reversed_by_entry_id: int | None
    legs: list[EntryLeg] = field(default_factory=list)
    #: the metadata exactly as stored: PostgreSQL's jsonb text
    metadata_text: str = "{}"


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


@dataclass(frozen=True)
class Snapshot:
    """What a read reflects: the WAL position (LSN) of the snapshot it read, which server answered
    (``"primary"`` or ``"replica"``) and, when known, the commit time of the last transaction the snapshot holds."""

    lsn: str
    source: str
    at: datetime | None = None


# --- calls ----------------------------------------------------------------------------------------


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


def legs_json(legs: Iterable[Leg | Mapping[str, Any]], entry: int | None = None) -> list[dict[str, Any]]:
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


def assertions_json(
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


def entry_json(entry: Mapping[str, Any], idx: int | None = None) -> dict[str, Any]:
    """A batch entry (an EntryRequest's fields or a plain dict) as JSON: Leg and BalanceAssertion objects, integral
    Decimal amounts and a date are converted; ``idx`` (1-based) names the entry in an error."""
    out = dict(entry)
    if isinstance(out.get("legs"), (list, tuple)):
        out["legs"] = legs_json(out["legs"], idx)
    if isinstance(out.get("assertions"), (list, tuple)):
        out["assertions"] = assertions_json(out["assertions"], idx)
    if isinstance(out.get("effective_date"), date):
        out["effective_date"] = out["effective_date"].isoformat()
    if isinstance(out.get("metadata"), Mapping):
        out["metadata"] = dict(out["metadata"])
    return out
