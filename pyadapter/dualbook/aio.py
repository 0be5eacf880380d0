"""The asyncio client: :class:`AsyncLedger`, the same surface as :class:`~dualbook.Ledger` on psycopg's async pool.

The SQL calls and result types are the shared ones in :mod:`dualbook.calls`; only execution differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import AsyncConnectionPool

from dualbook import calls, errors, reads, reports
from dualbook.agroup import AsyncGroupPoster
from dualbook.calls import (
    AccountResult,
    AccountRow,
    Balance,
    BalanceAssertion,
    BatchResult,
    Call,
    Currency,
    Entry,
    EntryRequest,
    Executed,
    KeyOutcome,
    Leg,
    PostResult,
    Violation,
)
from dualbook.group import GroupPolicy, resolve_policy
from dualbook.holds import AsyncHoldsMixin
from dualbook.reads import ReadPolicy
from dualbook.results import Snapshot
from dualbook.retry import Attempts, RetryPolicy, RetryStats, is_connection_loss

T = TypeVar("T")
AConn = psycopg.AsyncConnection[Any]


async def configure_async_connection(conn: AConn) -> None:
    """As :func:`dualbook.ledger.configure_connection`: autocommit, SERIALIZABLE by default."""
    await conn.set_isolation_level(IsolationLevel.SERIALIZABLE)
    await conn.set_autocommit(True)


async def configure_async_read_connection(conn: AConn) -> None:
    """As :func:`dualbook.ledger.configure_read_connection`: REPEATABLE READ READ ONLY reads, autocommit between."""
    await conn.set_isolation_level(IsolationLevel.REPEATABLE_READ)
    await conn.set_read_only(True)
    await conn.set_autocommit(True)


class AsyncLedger(AsyncHoldsMixin):
    """Async client of the ledger's SQL API (see :class:`dualbook.Ledger` for the semantics of each method)."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        book: str = "default",
        retry: RetryPolicy | None = None,
        group: bool | GroupPolicy = False,
        read_pool: AsyncConnectionPool | None = None,
        read_policy: ReadPolicy | None = None,
    ) -> None:
        self.pool = pool
        self.read_pool = read_pool
        self.read_policy = read_policy or ReadPolicy()
        self.book = book
        self.retry = retry or RetryPolicy()
        self.stats = RetryStats()
        policy = resolve_policy(group)
        #: the group poster when grouping is on (needs a running event loop: use ``connect``), else None
        self.group: AsyncGroupPoster | None = AsyncGroupPoster(self, policy) if policy is not None else None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 16,
        book: str = "default",
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        group: bool | GroupPolicy = False,
        read_url: str | None = None,
        read_policy: ReadPolicy | None = None,
    ) -> AsyncLedger:
        """As :meth:`Ledger.connect`, ``read_url`` and ``read_policy`` included."""
        policy = read_policy or ReadPolicy()
        read_pool = None
        if read_url is not None:
            read_pool = AsyncConnectionPool(
                reads.read_conninfo(read_url),
                min_size=min_size,
                max_size=max_size,
                configure=configure_async_read_connection,
                timeout=max(policy.timeout, 0.5),
                open=False,
                name="dualbook-async-read",
            )
            await read_pool.open()
        pool = AsyncConnectionPool(
            calls.serializable_conninfo(url),
            min_size=min_size,
            max_size=max_size,
            configure=configure_async_connection,
            timeout=timeout,
            open=False,
            name="dualbook-async",
        )
        await pool.open()
        return cls(pool, book=book, retry=retry, group=group, read_pool=read_pool, read_policy=policy)

    async def close(self) -> None:
        if self.group is not None:
            await self.group.close()  # what is queued is sent first
        await self.pool.close()
        if self.read_pool is not None:
            await self.read_pool.close()

    async def __aenter__(self) -> AsyncLedger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, call: Call[T], conn: AConn | None = None) -> Executed[T]:
        """As :meth:`Ledger.execute`: ``Executed(result, attempts, recovered)``."""
        if conn is not None:
            try:
                return Executed(call.parse(await calls.afetch_rows(conn, call)), 1, False)
            except psycopg.Error as exc:
                raise calls.map_error(exc) from exc
        attempts = Attempts(self.retry, self.stats)
        while True:
            attempts.next()
            try:
                async with self.pool.connection() as c:
                    if call.isolation is None and c.autocommit:
                        # one statement in autocommit: its own SERIALIZABLE transaction, one round trip (a pool
                        # not configured by connect() gets an explicit transaction below)
                        rows = await calls.afetch_rows(c, call)
                    else:
                        if call.isolation is not None:
                            await c.set_isolation_level(call.isolation)
                        try:
                            async with c.transaction():
                                rows = await calls.afetch_rows(c, call)
                        finally:
                            if call.isolation is not None and not c.closed:
                                await c.set_isolation_level(IsolationLevel.SERIALIZABLE)
                attempts.done()
                return Executed(call.parse(rows), attempts.n, attempts.lost > 0)
            except psycopg.Error as exc:
                delay = attempts.backoff_or_raise(exc)
                if is_connection_loss(exc):  # as Ledger.execute: drop the idle connections to a server now gone
                    with contextlib.suppress(psycopg.Error):
                        await self.pool.check()
                await asyncio.sleep(delay)

    async def report(self, call: Call[T]) -> T:
        """Run a report on the read target: ``(await read(call))[0]`` (see :meth:`Ledger.report`)."""
        return (await self.read(call))[0]

    async def read(self, call: Call[T], policy: ReadPolicy | None = None) -> tuple[T, Snapshot]:
        """As :meth:`Ledger.read`: the result and the :class:`~dualbook.results.Snapshot` it reflects."""
        policy = policy or self.read_policy
        if self.read_pool is None:
            return await self._read_primary(call)
        try:
            return await self._read_replica(self.read_pool, call, policy)
        except (errors.ReplicaLagging, errors.ReplicaUnavailable):
            if not policy.fallback:
                raise
            return await self._read_primary(call)

    async def _read_primary(self, call: Call[T]) -> tuple[T, Snapshot]:
        return await reads.aread_primary(self.pool, call, self.retry, self.stats)

    async def _read_replica(self, pool: AsyncConnectionPool, call: Call[T], policy: ReadPolicy) -> tuple[T, Snapshot]:
        async def primary_position() -> str:
            return (await self.execute(reads.primary_position_call()))[0]

        return await reads.aread_replica(pool, call, policy, primary_position, self.retry, self.stats)

    async def _point_read(self, call: Call[T], conn: AConn | None) -> T:
        """As :meth:`Ledger._point_read`."""
        if conn is None and self.read_pool is not None:
            return (await self.read(call))[0]
        return (await self.execute(call, conn))[0]

    async def transaction(self, fn: Callable[[AConn], Awaitable[T]]) -> T:
        """Run ``await fn(conn)`` in one SERIALIZABLE transaction, re-run whole on serialization failures."""
        async with self.pool.connection() as c:
            attempts = Attempts(self.retry, self.stats, retry_lost=False)
            while True:
                attempts.next()
                try:
                    async with c.transaction():
                        result = await fn(c)
                    attempts.done()
                    return result
                except psycopg.Error as exc:
                    await asyncio.sleep(attempts.backoff_or_raise(exc))

    def _book(self, book: str | None) -> str:
        return book if book is not None else self.book

    async def post_entry(
        self,
        key: str,
        legs: Iterable[Leg | Mapping[str, Any]],
        *,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        effective_date: date | None = None,
        assertions: Sequence[BalanceAssertion | Mapping[str, Any]] | None = None,
        book: str | None = None,
        conn: AConn | None = None,
    ) -> PostResult:
        if self.group is not None and conn is None:
            request = EntryRequest(key, list(legs), description, metadata, effective_date, assertions)
            return await self.group.post(request, self._book(book))
        call = calls.post_entry(
            key,
            legs,
            description=description,
            metadata=metadata,
            effective_date=effective_date,
            assertions=assertions,
            book=self._book(book),
        )
        result, attempts, recovered = await self.execute(call, conn)
        return replace(result, attempts=attempts, recovered=recovered)

    async def post_entries(
        self,
        entries: Sequence[EntryRequest | Mapping[str, Any]],
        *,
        atomic: bool = False,
        book: str | None = None,
        conn: AConn | None = None,
    ) -> list[BatchResult]:
        """Post many entries in one call and one transaction; one result per entry, in order. A rejected entry
        leaves nothing behind and the others post; with ``atomic=True`` the first failure raises and nothing
        posts. A serialization failure retries the whole batch (its posted keys replay as no-ops)."""
        return (await self.execute(calls.post_entries(entries, atomic=atomic, book=self._book(book)), conn))[0]

    async def reverse_entry(
        self,
        entry_id: int,
        key: str,
        *,
        reason: str | None = None,
        book: str | None = None,
        effective_date: date | None = None,
        conn: AConn | None = None,
    ) -> PostResult:
        call = calls.reverse_entry(entry_id, key, reason=reason, book=self._book(book), effective_date=effective_date)
        result, attempts, recovered = await self.execute(call, conn)
        return replace(result, attempts=attempts, recovered=recovered)

    async def create_account(
        self,
        code: str,
        currency: str,
        type: str,
        *,
        lower_limit: int | None = None,
        upper_limit: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        book: str | None = None,
        deferred: bool = False,
        conn: AConn | None = None,
    ) -> AccountResult:
        call = calls.create_account(
            code,
            currency,
            type,
            lower_limit=lower_limit,
            upper_limit=upper_limit,
            metadata=metadata,
            book=self._book(book),
            deferred=deferred,
        )
        result, attempts, _ = await self.execute(call, conn)
        return replace(result, attempts=attempts)

    async def close_account(self, code: str, *, book: str | None = None, conn: AConn | None = None) -> datetime:
        return (await self.execute(calls.close_account(code, book=self._book(book)), conn))[0]

    async def create_currency(
        self, code: str, exponent: int, name: str | None = None, *, conn: AConn | None = None
    ) -> bool:
        return (await self.execute(calls.create_currency(code, exponent, name), conn))[0]

    async def create_book(self, code: str, name: str | None = None, *, conn: AConn | None = None) -> int:
        return (await self.execute(calls.create_book(code, name), conn)).result.book_id

    async def sequence_deferred(self, max_legs: int = 10_000) -> int | None:
        return (await self.execute(calls.sequence_deferred(max_legs)))[0]

    async def drain_deferred(self, max_legs: int = 10_000, wait: float = 0.05, timeout: float = 60.0) -> int:
        """As :meth:`Ledger.drain_deferred`: :class:`~dualbook.errors.WorkerBusy` after ``timeout`` s of waiting."""
        total = 0
        deadline = time.monotonic() + timeout
        while True:
            n = await self.sequence_deferred(max_legs)
            if n is None:
                if time.monotonic() >= deadline:
                    raise errors.WorkerBusy(
                        f"another sequencer run held the lock for {timeout:g} s; folded {total}",
                        context={"folded": total},
                    )
                await asyncio.sleep(wait)
                continue
            total += n
            if n < max_legs:
                return total

    async def get_balance(self, account: str, *, book: str | None = None, conn: AConn | None = None) -> Balance:
        return await self._point_read(calls.get_balance(account, book=self._book(book)), conn)

    async def get_entry(
        self, entry_id: int | None = None, *, key: str | None = None, book: str | None = None, conn: AConn | None = None
    ) -> Entry:
        if (entry_id is None) == (key is None):
            raise TypeError("give exactly one of entry_id or key")
        call = (
            calls.get_entry(entry_id, book=self._book(book))
            if entry_id is not None
            else calls.get_entry_by_key(key or "", book=self._book(book))
        )
        return await self._point_read(call, conn)

    async def get_outcome(self, key: str, *, book: str | None = None, conn: AConn | None = None) -> KeyOutcome:
        """What became of an idempotency key: posted, refused (the recorded refusal) or unknown."""
        return (await self.execute(calls.get_outcome(key, book=self._book(book)), conn))[0]

    async def get_currency(self, code: str, *, conn: AConn | None = None) -> Currency:
        return await self._point_read(calls.get_currency(code), conn)

    async def list_accounts(self, *, prefix: str = "", limit: int = 1000, book: str | None = None) -> list[AccountRow]:
        return await self.report(calls.list_accounts(book=self._book(book), prefix=prefix, limit=limit))

    async def currencies(self) -> dict[str, Currency]:
        return await self.report(calls.currencies())

    async def trial_balance(self, *, book: str | None = None) -> list[tuple[str, int, int, int]]:
        return await self.report(calls.trial_balance(book=self._book(book)))

    async def books_check(self) -> list[Violation]:
        return await self.report(calls.books_check())

    # --- reports by effective date (see Ledger) ---------------------------------------------------
    async def balance_as_of(self, account: str, as_of: date, *, book: str | None = None) -> reports.BalanceAsOf:
        return reports.stamped(await self.read(reports.balance_as_of(account, as_of, book=self._book(book))))

    async def balance_as_recorded(
        self,
        account: str,
        *,
        entry_id: int | None = None,
        recorded_at: datetime | None = None,
        book: str | None = None,
    ) -> reports.BalanceAsOf:
        call = reports.balance_as_recorded(account, entry_id=entry_id, recorded_at=recorded_at, book=self._book(book))
        return reports.stamped(await self.read(call))

    async def statement(
        self,
        account: str,
        date_from: date,
        date_to: date,
        *,
        cursor: str | None = None,
        limit: int = 100,
        book: str | None = None,
    ) -> reports.StatementPage:
        """One page of the account's statement, as :meth:`dualbook.Ledger.statement` (holds on the first page)."""
        call = reports.statement(account, date_from, date_to, cursor=cursor, limit=limit, book=self._book(book))
        return reports.stamped(await self.read(call))

    async def statement_pages(
        self, account: str, date_from: date, date_to: date, *, limit: int = 100, book: str | None = None
    ) -> AsyncIterator[reports.StatementPage]:
        cursor: str | None = None
        while True:
            page = await self.statement(account, date_from, date_to, cursor=cursor, limit=limit, book=book)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def trial_balance_as_of(self, as_of: date, *, book: str | None = None) -> reports.TrialBalance:
        return reports.stamped(await self.read(reports.trial_balance_as_of(as_of, book=self._book(book))))

    async def month_end_report(
        self, date_from: date, date_through: date, *, book: str | None = None
    ) -> reports.MonthEndReport:
        return reports.stamped(
            await self.read(reports.month_end_report(date_from, date_through, book=self._book(book)))
        )

    async def close_period(self, through_date: date, *, book: str | None = None) -> reports.PeriodClose:
        result, attempts, _ = await self.execute(reports.close_period(through_date, book=self._book(book)))
        return replace(result, attempts=attempts)

    async def closed_through(self, *, book: str | None = None) -> date | None:
        return await self.report(reports.closed_through(book=self._book(book)))
