"""The HTTP shapes: pydantic models of requests and responses. They check shapes only -- a field is there and
has its JSON type; amounts are JSON integers (a float, ``1.0`` included, or a string is a 422) -- and leave every
ledger rule (balanced legs, limits, codes, sizes) to the database, which answers with its own error code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dualbook.results import Snapshot

#: an amount in minor units: a JSON integer, never a float (the database bounds it to 64 bits: LD106)
Amount = Annotated[int, Field(strict=True, description="an integer of minor units (never a float)")]
#: a limit: a 64-bit integer of minor units (the SQL parameter's type)
Limit = Annotated[int, Field(strict=True, ge=-(2**63), le=2**63 - 1, description="an integer of minor units, 64 bits")]
Text = Annotated[str, Field(max_length=10_000)]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LegIn(Shape):
    account: Text
    amount: Amount = Field(description="minor units: positive debits, negative credits")
    currency: Text


class AssertionIn(Shape):
    account: Text
    op: Text = Field(description="one of = <> < <= > >=")
    balance: Amount


class EntryIn(Shape):
    """One entry; its idempotency key is the ``Idempotency-Key`` header."""

    legs: list[LegIn] = Field(max_length=1000)
    description: Text | None = None
    metadata: dict[str, Any] | None = None
    effective_date: date | None = None
    assertions: list[AssertionIn] | None = Field(default=None, max_length=1000)


class BatchEntryIn(EntryIn):
    key: Text = Field(description="the entry's idempotency key")


class BatchIn(Shape):
    entries: list[BatchEntryIn] = Field(max_length=1000)
    atomic: bool = Field(default=False, description="all or nothing: the first refusal fails the whole batch")


class ReversalIn(Shape):
    reason: Text | None = None
    effective_date: date | None = Field(
        default=None,
        description="the reversal's effective date (default: the original's while its period is open, else "
        "the first open day; on or before the close date: 409 LD214)",
    )


class AccountIn(Shape):
    code: Text
    currency: Text
    type: Text = Field(description="asset, liability, equity, income or expense")
    lower_limit: Limit | None = None
    upper_limit: Limit | None = None
    metadata: dict[str, Any] | None = None
    deferred: bool = False


# --- responses ---------------------------------------------------------------------------------------------


class PostedOut(BaseModel):
    """A posted entry: the same body for the request that posted it and for every replay of its key."""

    entry_id: int
    idempotency_key: str
    recorded_at: datetime
    balances: dict[str, int] = Field(description="normal balances right after the entry (ordinary accounts)")


class EntryLegOut(BaseModel):
    leg: int
    account: str
    amount: int
    currency: str
    account_seq: int | None
    balance_after: int | None


class EntryOut(BaseModel):
    entry_id: int
    idempotency_key: str
    description: str | None
    metadata: dict[str, Any]
    effective_date: date
    recorded_at: datetime
    reverses_entry_id: int | None
    reversed_by_entry_id: int | None
    legs: list[EntryLegOut]


class ErrorOut(BaseModel):
    code: str
    name: str | None
    message: str | None
    detail: str | None


class BatchItemOut(BaseModel):
    idx: int
    key: str
    status: Literal["posted", "replayed", "refused", "rejected"]
    entry_id: int | None
    recorded_at: datetime | None
    balances: dict[str, int] | None
    error: ErrorOut | None


class BatchOut(BaseModel):
    results: list[BatchItemOut]


class AccountCreatedOut(BaseModel):
    account_id: int
    code: str
    created: bool


class AccountOut(BaseModel):
    book: str
    account_id: int
    code: str
    currency: str
    type: str
    status: str
    balance: int | None
    postings: int
    lower_limit: int | None
    upper_limit: int | None
    deferred: bool
    queued: int


class AccountPageOut(BaseModel):
    items: list[AccountOut]
    next_after: str | None = Field(description="pass as `after` for the next page; null on the last page")


class AccountClosedOut(BaseModel):
    code: str
    closed_at: datetime


class BalanceOut(BaseModel):
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


class TrialBalanceRowOut(BaseModel):
    currency: str
    debits: int
    credits: int
    net: int


class TrialBalanceOut(BaseModel):
    book: str
    currencies: list[TrialBalanceRowOut]
    snapshot: SnapshotOut


class OutcomeOut(BaseModel):
    key: str
    status: Literal["posted", "refused", "unknown"]
    entry_id: int | None
    recorded_at: datetime | None
    error: ErrorOut | None


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    expected_change: str
    deployed_change: str | None
    schema_state: Literal["exact", "ahead"] = Field(description="exact, or ahead: newer changes deployed too")
    read_target: Literal["none", "reachable", "unreachable"] = Field(
        description="none: reads go to the primary; else whether the read target (a replica) answers"
    )


class ProblemOut(BaseModel):
    """An error (RFC 9457, ``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None


# --- reports by effective date --------------------------------------------------------------------------------


class SnapshotOut(BaseModel):
    """What a report reflects: the WAL position of the snapshot it read, the server that answered, and the commit
    time of the last transaction that snapshot holds (null when unknown)."""

    lsn: str
    source: Literal["primary", "replica"]
    at: datetime | None

    @classmethod
    def of(cls, snap: Snapshot) -> SnapshotOut:
        return cls(lsn=snap.lsn, source=snap.source, at=snap.at)  # type: ignore[arg-type]


class BalanceAsOfOut(BaseModel):
    account: str
    currency: str
    type: str
    as_of: date
    balance: int = Field(description="the normal balance of the postings dated up to as_of")
    debit_balance: int
    postings: int
    snapshot: SnapshotOut


class StatementLineOut(BaseModel):
    effective_date: date
    entry_id: int
    leg: int
    description: str | None
    amount: int = Field(description="debit-positive")
    running_balance: int = Field(description="the normal balance after this line")
    recorded_at: datetime
    reverses_entry_id: int | None
    hold_id: int | None = Field(description="the hold whose capture posted this entry; null for other entries")


class StatementHoldOut(BaseModel):
    """A hold of the account that matters to the period, in its state at the period's end."""

    hold_id: int
    idempotency_key: str
    description: str | None
    effective_date: date
    recorded_at: datetime = Field(description="when it was placed")
    expires_at: datetime | None
    amount: int = Field(description="the hold's amount on this account, debit-positive")
    status: Literal["pending", "captured", "voided", "expired"] = Field(description="at the period's end")
    resolved_at: datetime | None = Field(description="when it was captured, voided or expired; null while pending")
    entry_id: int | None = Field(description="the capture's entry")
    captured_amount: int | None = Field(description="what the capture posted on this account, debit-positive")


class StatementOut(BaseModel):
    account: str
    currency: str
    type: str
    date_from: date
    date_to: date
    opening_balance: int
    closing_balance: int
    lines: list[StatementLineOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    holds: list[StatementHoldOut] | None = Field(
        description="the account's holds placed by the period's end and not resolved by its start, in their state "
        "at its end (midnight UTC after `to`, or now if earlier); on the first page only (null on the next pages)"
    )
    pending_debit: int = Field(description="what the holds outstanding at the period's end reserve as debits")
    pending_credit: int = Field(description="what the holds outstanding at the period's end reserve as credits")
    snapshot: SnapshotOut


class TrialBalanceAsOfRowOut(BaseModel):
    currency: str
    debits: int
    credits: int
    net: int
    accounts: int


class TrialBalanceAsOfOut(BaseModel):
    book: str
    as_of: date
    balanced: bool
    currencies: list[TrialBalanceAsOfRowOut]
    snapshot: SnapshotOut


class MonthEndRowOut(BaseModel):
    account: str
    currency: str
    type: str
    opening: int = Field(description="the normal balance dated before the period")
    debits: int = Field(description="the debits dated in the period")
    credits: int = Field(description="the credits dated in the period")
    closing: int = Field(description="the normal balance dated up to the period's last day")
    pending_debit: int = Field(
        description="what the account's holds outstanding at the period's end (midnight UTC after `through`, or "
        "now if earlier) reserve as debits"
    )
    pending_credit: int = Field(description="what its holds outstanding at the period's end reserve as credits")


class MonthEndOut(BaseModel):
    book: str
    date_from: date
    date_through: date
    final: bool = Field(description="the period is closed: the report can no longer change")
    closed_through: date | None
    rows: list[MonthEndRowOut]
    snapshot: SnapshotOut


class PeriodCloseIn(Shape):
    through_date: date = Field(description="close every effective date up to and including this one")


class PeriodCloseOut(BaseModel):
    book: str
    through_date: date
    closed_at: datetime
    accounts: int
    created: bool


class ClosedThroughOut(BaseModel):
    book: str
    closed_through: date | None
    snapshot: SnapshotOut
