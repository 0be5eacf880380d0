"""The hold endpoints under ``/v1/holds``: place a hold, capture it (in full or in part), void it, read it, and an
account's posted, pending and available balances. Each handler is one call of the async client; the rules and
errors are the database's (docs/sql-api.md §2.15)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from dualbook.service import metrics
from dualbook.service.models import LegIn, Limit, Shape, Text
from dualbook.service.routes import (
    MAX_ID,
    REPLAY_HEADER,
    Book,
    IdempotencyKey,
    authorize,
    book_of,
    call,
    ledger_of,
)

HoldId = Annotated[int, Path(ge=1, le=MAX_ID)]
NOT_FOUND = frozenset({"LD220", "LD210"})
_REPLAY_DOC = {REPLAY_HEADER: {"description": "`true`: an earlier request with this key did it"}}
WRITTEN: dict[int | str, dict[str, Any]] = {
    200: {"description": "a replay of the key: nothing was written", "headers": _REPLAY_DOC},
    201: {"description": "done now"},
}


class HoldIn(Shape):
    """A hold: the legs of an entry, reserved, not posted; its idempotency key is the ``Idempotency-Key`` header."""

    legs: list[LegIn] = Field(max_length=1000)
    description: Text | None = None
    metadata: dict[str, Any] | None = None
    effective_date: date | None = None
    expires_at: AwareDatetime | None = Field(default=None, description="released by itself from then on")


class CaptureIn(Shape):
    amount: Limit | None = Field(default=None, description="capture part of a two-leg hold (minor units)")


class HoldPlacedOut(BaseModel):
    hold_id: int
    idempotency_key: str
    recorded_at: datetime
    expires_at: datetime | None
    available: dict[str, int] = Field(description="available normal balances of its accounts (empty on a replay)")


class CaptureOut(BaseModel):
    hold_id: int
    entry_id: int
    idempotency_key: str
    recorded_at: datetime
    amount: int | None = Field(description="captured now (null on a replay)")
    released: int | None = Field(description="released now (null on a replay)")
    balances: dict[str, int]


class VoidOut(BaseModel):
    hold_id: int
    idempotency_key: str
    resolved_at: datetime
    released: dict[str, int] | None


class HoldOut(BaseModel):
    hold_id: int
    idempotency_key: str
    status: str = Field(description="pending, captured, voided or expired")
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


class AvailableOut(BaseModel):
    code: str
    currency: str
    balance: int = Field(description="the posted normal balance")
    pending_debit: int
    pending_credit: int
    available: int = Field(description="the normal balance minus what its holds would take away")
    lower_limit: int | None
    upper_limit: int | None


router = APIRouter(prefix="/v1")


def _written(body: BaseModel, created: bool, kind: str) -> Response:
    headers = {}
    if created:
        metrics.POSTINGS.labels(kind).inc()
    else:
        headers[REPLAY_HEADER] = "true"
        metrics.REPLAYS.labels(kind).inc()
    return Response(
        body.model_dump_json(), status_code=201 if created else 200, headers=headers, media_type="application/json"
    )


@router.post("/holds", status_code=201, response_model=HoldPlacedOut, responses=WRITTEN, tags=["holds"])
async def place_hold(request: Request, body: HoldIn, idempotency_key: IdempotencyKey, book: Book = None) -> Response:
    """Reserve an entry without posting it. Limits apply to available balances (409 LD203); the same key with the
    same hold replays it (200)."""
    authorize(request, "post")
    r = await call(
        ledger_of(request).hold(
            idempotency_key,
            [leg.model_dump() for leg in body.legs],
            description=body.description,
            metadata=body.metadata,
            effective_date=body.effective_date,
            expires_at=body.expires_at,
            book=book_of(request, book),
        )
    )
    out = HoldPlacedOut(
        hold_id=r.hold_id,
        idempotency_key=idempotency_key,
        recorded_at=r.recorded_at,
        expires_at=r.expires_at,
        available=r.available,
    )
    return _written(out, r.created, "hold")


@router.post("/holds/{hold_id}/capture", status_code=201, response_model=CaptureOut, responses=WRITTEN, tags=["holds"])
async def capture_hold(
    request: Request,
    hold_id: HoldId,
    idempotency_key: IdempotencyKey,
    body: CaptureIn | None = None,
    book: Book = None,
) -> Response:
    """Post a hold as an entry (all of it, or `amount` of a two-leg hold). A resolved or expired hold is a 409
    (LD221-LD223); more than held a 422 (LD121)."""
    authorize(request, "post")
    amount = body.amount if body is not None else None
    r = await call(ledger_of(request).capture(hold_id, idempotency_key, amount, book=book_of(request, book)), NOT_FOUND)
    out = CaptureOut(
        hold_id=hold_id,
        entry_id=r.entry_id,
        idempotency_key=idempotency_key,
        recorded_at=r.recorded_at,
        amount=r.amount,
        released=r.released,
        balances=r.balances,
    )
    return _written(out, r.created, "capture")


@router.post("/holds/{hold_id}/void", status_code=201, response_model=VoidOut, responses=WRITTEN, tags=["holds"])
async def void_hold(request: Request, hold_id: HoldId, idempotency_key: IdempotencyKey, book: Book = None) -> Response:
    """Release a hold (409 LD224 once captured, LD223 once expired)."""
    authorize(request, "post")
    r = await call(ledger_of(request).void(hold_id, idempotency_key, book=book_of(request, book)), NOT_FOUND)
    out = VoidOut(hold_id=hold_id, idempotency_key=idempotency_key, resolved_at=r.resolved_at, released=r.released)
    return _written(out, r.created, "void")


@router.get("/holds/{hold_id}", response_model=HoldOut, tags=["holds"])
async def hold(request: Request, hold_id: HoldId, book: Book = None) -> HoldOut:
    """A hold and its resolution; an expired hold is `expired` whether or not its expiry was recorded."""
    authorize(request, "read")
    found = await call(ledger_of(request).get_hold(hold_id, book=book_of(request, book)), NOT_FOUND)
    return HoldOut.model_validate(found, from_attributes=True)


@router.get("/available", response_model=AvailableOut, tags=["holds"])
async def available(request: Request, account: Annotated[str, Query(min_length=1)], book: Book = None) -> AvailableOut:
    """An account's posted, pending (per side) and available balances."""
    authorize(request, "read")
    found = await call(
        ledger_of(request).get_available(account, book=book_of(request, book)), frozenset({"LD201", "LD210"})
    )
    return AvailableOut.model_validate(found, from_attributes=True)
