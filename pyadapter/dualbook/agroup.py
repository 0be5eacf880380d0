"""Group posting for :class:`~dualbook.AsyncLedger`: the asyncio twin of :class:`dualbook.group.GroupPoster`.

Same policy, same guarantees (see :mod:`dualbook.group`): concurrent ``post_entry`` calls from many tasks are sent
as one non-atomic ``post_entries`` call per group, each task gets exactly its own outcome, a group refused whole is
split, serialization failures and lost connections retry the whole group with the same keys. Writers are tasks
of the event loop the client was connected on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any, Protocol, TypeVar

import psycopg

from dualbook import errors
from dualbook.calls import Call, EntryRequest, PostResult
from dualbook.group import Arrivals, GroupPolicy, GroupStats, Pending, batch_call, settle, single_call, take

T = TypeVar("T")


class AsyncExecutor(Protocol):
    async def execute(self, call: Call[T], conn: Any = None) -> tuple[T, int, bool]: ...


def _caller() -> int:
    task = asyncio.current_task()
    return id(task) if task is not None else 0


class AsyncGroupPoster:
    """The task-based group poster behind :class:`~dualbook.AsyncLedger` (``group=``). Create it inside a running
    event loop (``AsyncLedger.connect`` does)."""

    def __init__(self, executor: AsyncExecutor, policy: GroupPolicy) -> None:
        self.executor = executor
        self.policy = policy
        self.stats = GroupStats()
        self._queue: deque[Pending] = deque()
        self._cond = asyncio.Condition()
        self._arrivals = Arrivals()
        self._in_flight: set[int] = set()
        self._closed = False
        self._writers = [asyncio.create_task(self._writer(), name=f"dualbook-group-{i}") for i in range(policy.writers)]

    async def post(self, request: EntryRequest, book: str) -> PostResult:
        """Queue the request, wait for its group, return its own outcome (or raise its own error)."""
        p = Pending(request, book, _caller())
        if len(request.legs) > self.policy.max_legs_grouped:
            return await self._alone(p)
        p.done = asyncio.get_running_loop().create_future()
        async with self._cond:
            if self._closed:
                raise errors.InfrastructureError("the ledger client is closed")
            deadline = time.monotonic() + self.policy.queue_timeout
            while len(self._queue) >= self.policy.max_queued:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    raise errors.GroupQueueFull(
                        f"{len(self._queue)} requests are waiting for a writer (max_queued "
                        f"{self.policy.max_queued}); waited {self.policy.queue_timeout:g} s"
                    )
                try:
                    await asyncio.wait_for(self._cond.wait(), remaining)
                except TimeoutError:
                    continue
            self._arrivals.saw(p.caller, time.monotonic())
            self._queue.append(p)
            self._cond.notify_all()
        await asyncio.shield(p.done)  # a cancelled caller does not cancel its entry: it is in a group already
        return p.outcome()

    async def _alone(self, p: Pending) -> PostResult:
        result, attempts, recovered = await self.executor.execute(single_call(p))
        return PostResult(result.entry_id, result.created, result.recorded_at, result.balances, attempts, recovered)

    async def close(self) -> None:
        """Send what is queued, then stop the writers."""
        async with self._cond:
            self._closed = True
            self._cond.notify_all()
        await asyncio.gather(*self._writers, return_exceptions=True)

    async def _collect(self) -> list[Pending] | None:
        limit = self.policy.max_entries
        async with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                await self._cond.wait()
            group: list[Pending] = []
            take(self._queue, limit, self._queue[0].book, group)
            if self.policy.max_wait > 0 and len(group) < limit and not self._closed:
                deadline = time.monotonic() + self.policy.max_wait
                waited = False
                while len(group) < limit:
                    now = time.monotonic()
                    coming = self._arrivals.expected(now) - len(group) - len(self._in_flight) - len(self._queue)
                    if coming <= 0 or now >= deadline:
                        break
                    waited = True
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._cond.wait(), deadline - now)
                    take(self._queue, limit, group[0].book, group)
                self.stats.waited += waited
            self._in_flight.update(p.caller for p in group)
            self._cond.notify_all()
            return group

    async def _writer(self) -> None:
        while True:
            group = await self._collect()
            if group is None:
                return
            try:
                await self._send(group)
            except BaseException as exc:  # never leave a caller waiting (cancellation included)
                for p in group:
                    if p.result is None and p.error is None:
                        p.error = exc
                if isinstance(exc, asyncio.CancelledError):
                    raise
            finally:
                async with self._cond:
                    self._in_flight.difference_update(p.caller for p in group)
                for p in group:
                    if not p.done.done():
                        p.done.set_result(None)

    async def _send(self, group: list[Pending]) -> None:
        self.stats.record(len(group))
        try:
            results, attempts, recovered = await self.executor.execute(batch_call(group))
        except (errors.LedgerError, psycopg.Error) as exc:
            if isinstance(exc, errors.RetriesExhausted):
                for p in group:
                    p.error = exc
                return
            self.stats.split += 1
            for p in group:
                try:
                    p.result = await self._alone(p)
                except Exception as one:
                    p.error = one
            return
        settle(group, results, attempts, recovered)
