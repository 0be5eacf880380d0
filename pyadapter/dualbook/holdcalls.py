"""Holds (two-phase postings) as calls of the SQL API: ``ledger.hold_entry``, ``capture_hold``, ``void_hold``,
``expire_holds``, ``get_hold`` and ``get_available``, their results, and the encoded requests a write group sends
as one ``ledger.hold_requests()`` call (:mod:`dualbook.group`), with the outcome the direct call would give. The
methods :class:`~dualbook.Ledger` and :class:`~dualbook.AsyncLedger` gain from them are in :mod:`dualbook.holds`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from dualbook import errors
from dualbook.calls import Call, _all, _one
from dualbook.results import Leg, legs_json


@dataclass(frozen=True)
class HoldResult:
    """A hold placed now (``created``) or before (a replay of its key). ``available``: the normal available
    balances of its accounts just after it (empty on a replay)."""

    hold_id: int
    created: bool
    recorded_at: datetime
    expires_at: datetime | None
    available: dict[str, int]
    attempts: int = 1


@dataclass(frozen=True)
class CaptureResult:
    """A capture posted now (``created``) or before: the entry it posted, the amount captured and released
    (``None`` on a replay), and the entry's balances."""

    hold_id: int
    entry_id: int
    created: bool
    recorded_at: datetime
    amount: int | None
    released: int | None
    balances: dict[str, int]
    attempts: int = 1


@dataclass(frozen=True)
class VoidResult:
    """A void recorded now (``created``) or before; ``released``: account -> amount (``None`` on a replay)."""

    hold_id: int
    created: bool
    resolved_at: datetime
    released: dict[str, int] | None
    attempts: int = 1


@dataclass(frozen=True)
class Hold:
    """One hold: status ``pending`` | ``captured`` | ``voided`` | ``expired`` (from its expiry, recorded or not)."""

    hold_id: int
    idempotency_key: str
    status: str
    legs: list[dict[str, Any]]
    amount: int
    description: str | None
    metadata: dict[str, Any]
    effective_date: date
    recorded_at: datetime
    expires_at: datetime | None
    resolved_at: datetime | None
    resolution_key: str | None
    captured_amount: int | None
    entry_id: int | None


@dataclass(frozen=True)
class Available:
    """An account's posted (normal) balance, the pending debits and credits of its outstanding holds, and its
    available balance: the normal balance minus what its holds would take away."""

    code: str
    currency: str
    balance: int
    pending_debit: int
    pending_credit: int
    available: int
    lower_limit: int | None
    upper_limit: int | None


def _refused(row: dict[str, Any]) -> None:
    if row["status"] == "refused":
        raise errors.from_fields(row["error_code"], row["error_message"], row["error_detail"], hint=row["error_hint"])


def _hold_result(row: dict[str, Any]) -> HoldResult:
    _refused(row)
    return HoldResult(
        hold_id=row["hold_id"],
        created=row["created"],
        recorded_at=row["recorded_at"],
        expires_at=row["expires_at"],
        available=dict(row["available"] or {}),
    )


def _capture_result(row: dict[str, Any]) -> CaptureResult:
    _refused(row)
    return CaptureResult(
        hold_id=row["hold_id"],
        entry_id=row["entry_id"],
        created=row["created"],
        recorded_at=row["recorded_at"],
        amount=row["amount"] if row["created"] else None,
        released=row["released"] if row["created"] else None,
        balances=dict(row["balances"] or {}),
    )


def _void_result(row: dict[str, Any]) -> VoidResult:
    released = row["released"]
    return VoidResult(
        hold_id=row["hold_id"],
        created=row["created"],
        resolved_at=row["resolved_at"],
        released=dict(released) if released is not None else None,
    )


def hold_entry(
    key: str,
    legs: Iterable[Leg | Mapping[str, Any]],
    *,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    effective_date: date | None = None,
    expires_at: datetime | None = None,
    book: str = "default",
) -> Call[HoldResult]:
    return Call(
        "SELECT status, hold_id, created, recorded_at, expires_at, available, error_code, error_message, "
        "error_detail, error_hint FROM ledger.hold_entry(%s, %s, %s, %s, %s, %s, %s)",
        (
            key,
            Jsonb(legs_json(legs)),
            description,
            Jsonb(dict(metadata)) if metadata is not None else None,
            effective_date,
            expires_at,
            book,
        ),
        _one(_hold_result),
        write=True,
        row_factory=dict_row,
    )


def capture_hold(hold_id: int, key: str, amount: int | None = None, *, book: str = "default") -> Call[CaptureResult]:
    return Call(
        "SELECT status, hold_id, entry_id, created, recorded_at, amount, released, balances, error_code, "
        "error_message, error_detail, error_hint FROM ledger.capture_hold(%s, %s, %s, %s)",
        (hold_id, key, amount, book),
        _one(_capture_result),
        write=True,
        row_factory=dict_row,
    )


def void_hold(hold_id: int, key: str, *, book: str = "default") -> Call[VoidResult]:
    return Call(
        "SELECT status, hold_id, created, resolved_at, released FROM ledger.void_hold(%s, %s, %s)",
        (hold_id, key, book),
        _one(_void_result),
        write=True,
        row_factory=dict_row,
    )


def expire_holds(*, book: str = "default", max_holds: int = 1000) -> Call[int]:
    return Call("SELECT ledger.expire_holds(%s, %s)", (book, max_holds), _one(lambda r: int(r[0])), write=True)


def get_hold(hold_id: int, *, book: str = "default") -> Call[Hold]:
    return Call(
        "SELECT * FROM ledger.get_hold(%s, %s)", (hold_id, book), _one(lambda r: r), write=False,
        row_factory=class_row(Hold),
    )  # fmt: skip


def get_available(account: str, *, book: str = "default") -> Call[Available]:
    return Call(
        "SELECT * FROM ledger.get_available(%s, %s)", (account, book), _one(lambda r: r), write=False,
        row_factory=class_row(Available),
    )  # fmt: skip


@dataclass(frozen=True)
class HoldOp:
    """One hold, capture or void request as the group poster carries it: ``doc``, the request of
    ``ledger.hold_requests()`` as JSON text (encoded in the caller's thread, so that a request JSON cannot carry
    fails there, alone), and ``call``, the same request as a direct call (sent alone when its group is refused
    whole, or when it has more legs than the policy groups)."""

    op: str
    doc: str
    call: Call[Any]
    legs: int = 0


def _encode(doc: dict[str, Any]) -> str:
    try:
        return json.dumps(doc, allow_nan=False, separators=(",", ":"), default=_iso)
    except (TypeError, ValueError) as exc:
        raise errors.InvalidArgument(f"{doc['op']} request {doc['key']!r} cannot be sent as JSON: {exc}") from exc


def _iso(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def hold_op(
    key: str,
    legs: Iterable[Leg | Mapping[str, Any]],
    *,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    effective_date: date | None = None,
    expires_at: datetime | None = None,
    book: str = "default",
) -> HoldOp:
    legs = list(legs)
    call = hold_entry(
        key, legs, description=description, metadata=metadata, effective_date=effective_date, expires_at=expires_at,
        book=book,
    )  # fmt: skip
    doc = {"op": "hold", "key": key, "legs": legs_json(legs), "description": description,
           "metadata": dict(metadata) if metadata is not None else None, "effective_date": effective_date,
           "expires_at": expires_at}  # fmt: skip
    return HoldOp("hold", _encode({k: v for k, v in doc.items() if v is not None}), call, len(legs))


def capture_op(hold_id: int, key: str, amount: int | None = None, *, book: str = "default") -> HoldOp:
    doc: dict[str, Any] = {"op": "capture", "key": key, "hold_id": hold_id}
    if amount is not None:
        doc["amount"] = amount
    return HoldOp("capture", _encode(doc), capture_hold(hold_id, key, amount, book=book))


def void_op(hold_id: int, key: str, *, book: str = "default") -> HoldOp:
    return HoldOp("void", _encode({"op": "void", "key": key, "hold_id": hold_id}), void_hold(hold_id, key, book=book))


def hold_requests_encoded(documents: Sequence[str], *, book: str = "default") -> Call[list[dict[str, Any]]]:
    """One ``ledger.hold_requests()`` call: one row per request, in order (a group of the group poster)."""
    return Call(
        "SELECT * FROM ledger.hold_requests(%s::jsonb, %s)", ("[" + ",".join(documents) + "]", book), _all,
        write=True, row_factory=dict_row,
    )  # fmt: skip


def hold_row_outcome(op: str, row: dict[str, Any], attempts: int) -> HoldResult | CaptureResult | VoidResult:
    """The result of one request from its ``hold_requests`` row, or its error raised: what the direct call of
    ``hold_entry``, ``capture_hold`` or ``void_hold`` would have returned or raised."""
    if row["op"] != op:
        raise errors.InfrastructureError(f"hold_requests returned a {row['op']!r} row for a {op!r} request")
    if row["status"] == "rejected":
        raise errors.from_fields(row["error_code"], row["error_message"], row["error_detail"], hint=row["error_hint"])
    result: HoldResult | CaptureResult | VoidResult
    if op == "hold":
        result = _hold_result(row)
    elif op == "capture":
        result = _capture_result({**row, "released": row["released_amount"]})
    else:
        result = _void_result({**row, "resolved_at": row["recorded_at"]})
    return replace(result, attempts=attempts)
