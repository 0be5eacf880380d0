"""Group posting for :class:`~dualbook.AsyncLedger`: the asyncio twin of :class:`dualbook.group.GroupPoster`.

Same policy, same guarantees (see :mod:`dualbook.group`): concurrent ``post_entry`` calls from many tasks are sent
as one non-atomic ``post_entries`` call per group, each task gets exactly its own outcome, a group refused whole is
split, serialization failures and lost connections retry the whole group with the same keys. Writers are tasks
of the event loop the client was connected on.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol, TypeVar, cast

import psycopg

from dualbook import errors
from dualbook.calls import Call, EntryRequest, Executed, PostResult
from dualbook.group import (
    Gathering,
    GroupPolicy,
    Pending,
    alone_result,
    batch_call,
    fail_unsettled,
    settle,
    single_call,
)
from dualbook.holdcalls import HoldOp

T = TypeVar("T")
R = TypeVar("R")


class AsyncExecutor(Protocol):
    async def execute(self, call: Call[T], conn: Any = None) -> Executed[T]: ...


def _caller() -> int:
    task = asyncio.current_task()
    return id(task) if task is not None else 0


class AsyncGroupPoster(Gathering):
    """The task-based group poster behind :class:`~dualbook.AsyncLedger` (``group=``). Create it inside a running
    event loop (``AsyncLedger.connect`` does)."""

    def __init__(self, executor: AsyncExecutor, policy: GroupPolicy) -> None:
        super().__init__(policy)
        self.executor = executor
        self._cond = asyncio.Condition()
        self._writers = [asyncio.create_task(self._writer(), name=f"dualbook-group-{i}") for i in range(policy.writers)]

    async def post(self, request: EntryRequest, book: str) -> PostResult:
        """Queue the request, wait for its group, return its own outcome (or raise its own error)."""
        return cast(PostResult, await self._submit(Pending(request, book, _caller())))

    async def submit_hold(self, op: HoldOp, book: str, result_type: type[R]) -> R:
        """A hold, capture or void request: queued like an entry, sent in a group of hold requests."""
        result = await self._submit(Pending(op, book, _caller()))
        if not isinstance(result, result_type):  # a bug, said loudly
            raise errors.InfrastructureError(f"a {op.op} request got a {type(result).__name__}")
        return result

    async def _submit(self, p: Pending) -> Any:
        if p.legs > self.policy.max_legs_grouped:
            return await self._alone(p)
        p.done = asyncio.get_running_loop().create_future()
        async with self._cond:
            if self.closed:
                raise errors.InfrastructureError("the ledger client is closed")
            deadline = self.clock() + self.policy.queue_timeout
            while self.full():
                remaining = deadline - self.clock()
                if remaining <= 0 or self.closed:
                    raise self.queue_full_error()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait(), remaining)
            self.enqueue(p)
            self._cond.notify_all()
        await asyncio.shield(p.done)  # a cancelled caller does not cancel its entry: it is in a group already
        return p.outcome()

    async def _alone(self, p: Pending) -> Any:
        return alone_result(p, await self.executor.execute(single_call(p)))

    async def close(self) -> None:
        """Send what is queued, then stop the writers."""
        async with self._cond:
            self.closed = True
            self._cond.notify_all()
        await asyncio.gather(*self._writers, return_exceptions=True)

    async def _collect(self) -> list[Pending] | None:
        async with self._cond:
            while not self.queue:
                if self.closed:
                    return None
                await self._cond.wait()
            group, deadline = self.start()
            waited = False
            while deadline is not None and (pause := self.wait_for_more(group, deadline)) > 0:
                waited = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait(), pause)
                self.refill(group)
            self.launch(group, waited)
            self._cond.notify_all()
            return group

    async def _writer(self) -> None:
        while True:
            group = await self._collect()
            if group is None:
                return
            try:
                await self._send(group)
            except BaseException as exc:  # cancellation included
                fail_unsettled(group, exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            finally:
                async with self._cond:
                    self.landed(group)
                for p in group:
                    if not p.done.done():
                        p.done.set_result(None)

    async def _send(self, group: list[Pending]) -> None:
        try:
            results, attempts, recovered = await self.executor.execute(batch_call(group))
        except (errors.LedgerError, psycopg.Error) as exc:
            if self.refused_whole(group, exc):
                for p in group:
                    try:
                        p.result = await self._alone(p)
                    except Exception as one:
                        p.error = one
            return
        settle(group, results, attempts, recovered)
