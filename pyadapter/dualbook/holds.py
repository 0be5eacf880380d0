"""Holds (two-phase postings) in the client: the methods :class:`~dualbook.Ledger` and :class:`~dualbook.AsyncLedger`
gain for ``ledger.hold_entry``, ``capture_hold``, ``void_hold``, ``expire_holds``, ``get_hold`` and
``get_available`` (the calls and their results are in :mod:`dualbook.holdcalls`). Each is one direct call of the SQL
API in its own retried SERIALIZABLE transaction (or the caller's, with ``conn``); on a grouped ledger (``group=``)
``hold``, ``capture`` and ``void`` without ``conn`` join the write groups like ``post_entry``, sent as
``ledger.hold_requests()`` calls (:mod:`dualbook.group`), with the outcome the direct call would give. A refusal
recorded with the key (a limit, a closed period, ...) raises its exception like ``post_entry``'s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dualbook.calls import Call, Executed
from dualbook.holdcalls import (
    Available,
    CaptureResult,
    Hold,
    HoldResult,
    VoidResult,
    capture_hold,
    capture_op,
    expire_holds,
    get_available,
    get_hold,
    hold_entry,
    hold_op,
    void_hold,
    void_op,
)
from dualbook.results import Leg

if TYPE_CHECKING:
    import psycopg

    from dualbook.agroup import AsyncGroupPoster
    from dualbook.group import GroupPoster

__all__ = ["AsyncHoldsMixin", "Available", "CaptureResult", "Hold", "HoldResult", "HoldsMixin", "VoidResult"]

T = TypeVar("T")


class _Sync(Protocol):
    group: GroupPoster | None

    def execute(self, call: Call[T], conn: psycopg.Connection[Any] | None = None) -> Executed[T]: ...
    def _book(self, book: str | None) -> str: ...


class _Async(Protocol):
    group: AsyncGroupPoster | None

    async def execute(self, call: Call[T], conn: psycopg.AsyncConnection[Any] | None = None) -> Executed[T]: ...
    def _book(self, book: str | None) -> str: ...


class HoldsMixin:
    """``Ledger.hold / capture / void / expire_holds / get_hold / get_available`` (docs/sql-api.md, holds)."""

    def hold(
        self: _Sync,
        key: str,
        legs: Iterable[Leg | Mapping[str, Any]],
        *,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        effective_date: date | None = None,
        expires_at: datetime | None = None,
        book: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> HoldResult:
        """Reserve a balanced entry without posting it; limits apply to available balances. Idempotent by key.
        With grouping on and no ``conn``, the request joins the next group (same outcome as alone)."""
        if self.group is not None and conn is None:
            op = hold_op(
                key, legs, description=description, metadata=metadata, effective_date=effective_date,
                expires_at=expires_at, book=self._book(book),
            )  # fmt: skip
            return self.group.submit_hold(op, self._book(book), HoldResult)
        call = hold_entry(
            key,
            legs,
            description=description,
            metadata=metadata,
            effective_date=effective_date,
            expires_at=expires_at,
            book=self._book(book),
        )
        result, attempts, _ = self.execute(call, conn)
        return replace(result, attempts=attempts)

    def capture(
        self: _Sync,
        hold_id: int,
        key: str,
        amount: int | None = None,
        *,
        book: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> CaptureResult:
        """Post a hold (all of it, or ``amount`` of a two-leg hold: the rest is released). Idempotent by key."""
        if self.group is not None and conn is None:
            op = capture_op(hold_id, key, amount, book=self._book(book))
            return self.group.submit_hold(op, self._book(book), CaptureResult)
        result, attempts, _ = self.execute(capture_hold(hold_id, key, amount, book=self._book(book)), conn)
        return replace(result, attempts=attempts)

    def void(
        self: _Sync, hold_id: int, key: str, *, book: str | None = None, conn: psycopg.Connection[Any] | None = None
    ) -> VoidResult:
        """Release a hold without posting it. Idempotent by key."""
        if self.group is not None and conn is None:
            return self.group.submit_hold(void_op(hold_id, key, book=self._book(book)), self._book(book), VoidResult)
        result, attempts, _ = self.execute(void_hold(hold_id, key, book=self._book(book)), conn)
        return replace(result, attempts=attempts)

    def expire_holds(self: _Sync, *, book: str | None = None, max_holds: int = 1000) -> int:
        """Record the expiry of up to ``max_holds`` expired holds (reads already treat them as released)."""
        return self.execute(expire_holds(book=self._book(book), max_holds=max_holds)).result

    def get_hold(
        self: _Sync, hold_id: int, *, book: str | None = None, conn: psycopg.Connection[Any] | None = None
    ) -> Hold:
        return self.execute(get_hold(hold_id, book=self._book(book)), conn).result

    def get_available(
        self: _Sync, account: str, *, book: str | None = None, conn: psycopg.Connection[Any] | None = None
    ) -> Available:
        """Posted, pending (per side) and available balances of an account, now."""
        return self.execute(get_available(account, book=self._book(book)), conn).result


class AsyncHoldsMixin:
    """The :class:`HoldsMixin` methods of :class:`~dualbook.AsyncLedger`."""

    async def hold(
        self: _Async,
        key: str,
        legs: Iterable[Leg | Mapping[str, Any]],
        *,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        effective_date: date | None = None,
        expires_at: datetime | None = None,
        book: str | None = None,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> HoldResult:
        if self.group is not None and conn is None:
            op = hold_op(
                key, legs, description=description, metadata=metadata, effective_date=effective_date,
                expires_at=expires_at, book=self._book(book),
            )  # fmt: skip
            return await self.group.submit_hold(op, self._book(book), HoldResult)
        call = hold_entry(
            key,
            legs,
            description=description,
            metadata=metadata,
            effective_date=effective_date,
            expires_at=expires_at,
            book=self._book(book),
        )
        result, attempts, _ = await self.execute(call, conn)
        return replace(result, attempts=attempts)

    async def capture(
        self: _Async,
        hold_id: int,
        key: str,
        amount: int | None = None,
        *,
        book: str | None = None,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> CaptureResult:
        if self.group is not None and conn is None:
            op = capture_op(hold_id, key, amount, book=self._book(book))
            return await self.group.submit_hold(op, self._book(book), CaptureResult)
        result, attempts, _ = await self.execute(capture_hold(hold_id, key, amount, book=self._book(book)), conn)
        return replace(result, attempts=attempts)

    async def void(
        self: _Async,
        hold_id: int,
        key: str,
        *,
        book: str | None = None,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> VoidResult:
        if self.group is not None and conn is None:
            op = void_op(hold_id, key, book=self._book(book))
            return await self.group.submit_hold(op, self._book(book), VoidResult)
        result, attempts, _ = await self.execute(void_hold(hold_id, key, book=self._book(book)), conn)
        return replace(result, attempts=attempts)

    async def expire_holds(self: _Async, *, book: str | None = None, max_holds: int = 1000) -> int:
        return (await self.execute(expire_holds(book=self._book(book), max_holds=max_holds))).result

    async def get_hold(
        self: _Async, hold_id: int, *, book: str | None = None, conn: psycopg.AsyncConnection[Any] | None = None
    ) -> Hold:
        return (await self.execute(get_hold(hold_id, book=self._book(book)), conn)).result

    async def get_available(
        self: _Async, account: str, *, book: str | None = None, conn: psycopg.AsyncConnection[Any] | None = None
    ) -> Available:
        return (await self.execute(get_available(account, book=self._book(book)), conn)).result
