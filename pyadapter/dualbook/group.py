"""Group posting: concurrent single-entry requests sent to the database as one ``post_entries`` call.

Callers post one entry at a time, from many threads (or tasks) at once; each call on its own costs a whole
SERIALIZABLE transaction and a commit. The group poster collects the requests that arrive together and sends them
as one non-atomic ``ledger.post_entries()`` call -- one statement, one SERIALIZABLE transaction, one commit -- on
one of a few writer connections, then hands each caller exactly its own outcome::

    with Ledger.connect(url, group=GroupPolicy(max_entries=100, max_wait=0.001)) as ledger:
        ledger.post_entry(key, legs)     # from any number of threads: grouped, same result as alone

What each caller gets is what ``post_entry`` alone would have given it: its :class:`~dualbook.PostResult`
(created, or a replay with ``created=False``), or its own exception class with the database's SQLSTATE, message
and detail. A refused request refuses only itself. Within a group the entries are posted in the callers' arrival
order, with the semantics of serial execution: two requests on the same limited wallet see each other, and the
second may be refused (LD203) where it would have been refused had it come second alone.

Failures: a group that fails with a serialization failure or deadlock is retried whole with the same keys (safe:
every key is idempotent, so an entry that did commit replays as a no-op); a lost connection is retried the same
way, and the entries of a group whose COMMIT was lost resolve by key (``recovered=True``). A group the database
refuses as a whole (never for one entry's fault) is split and each request sent alone, so no caller gets another's
error.

Batching is adaptive. A writer that is free sends what is queued at once: a caller alone is never kept waiting.
It waits for more -- at most ``max_wait`` -- only while callers it has seen in the last 100 ms are neither in
its group nor already in flight, i.e. when more requests are surely on their way. Under load, requests queue while
the writers are busy, and the next group takes them all (up to ``max_entries``): the busier the ledger, the larger
the groups. The queue is bounded (``max_queued``): when it is full, callers wait up to ``queue_timeout`` and then
get :class:`~dualbook.errors.GroupQueueFull`, instead of the process growing without bound.

Requests that cannot share a group are sent alone: a call inside the caller's own transaction (``conn=``), a
reversal, and a request with more legs than ``max_legs_grouped``.

Holds: ``hold``, ``capture`` and ``void`` are grouped the same way, in groups of their own -- a group is all
entries (one ``post_entries`` call) or all hold requests (one ``ledger.hold_requests()`` call, which runs each
request through ``hold_entry``, ``capture_hold`` or ``void_hold`` in its own subtransaction). A group takes the
queued requests of its book and kind in arrival order; a caller's requests are never reordered, since a caller
waits for each outcome before its next request. Each caller gets the result or the exception its direct call
would have given.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar, cast

import psycopg

from dualbook import calls, errors
from dualbook.calls import BatchResult, Call, EntryRequest, Executed, PostResult
from dualbook.holdcalls import HoldOp, hold_requests_encoded, hold_row_outcome

T = TypeVar("T")
R = TypeVar("R")

#: the kinds of group: entries go to ``post_entries``, hold requests to ``hold_requests``
ENTRY, HOLD = "entry", "hold"

#: how long a caller counts as "active" after its last request, for the writer's decision to wait for more
RECENT = 0.1


@dataclass(frozen=True)
class GroupPolicy:
    """How requests are grouped.

    max_entries: entries per ``post_entries`` call (1-1000).
    max_wait: the longest a writer waits for more requests, in seconds, and only while other callers are surely
        on their way (see the module's documentation); 0 never waits.
    writers: writer threads (or tasks), each sending one group at a time on its own pooled connection.
    max_queued: requests waiting for a writer; beyond it callers wait (backpressure).
    queue_timeout: how long a caller waits for room in a full queue before :class:`GroupQueueFull`.
    max_legs_grouped: a request with more legs than this is sent alone.
    """

    max_entries: int = 100
    max_wait: float = 0.001
    writers: int = 2
    max_queued: int = 10_000
    queue_timeout: float = 30.0
    max_legs_grouped: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.max_entries <= 1000:
            raise errors.InvalidArgument(f"max_entries must be 1-1000, not {self.max_entries}")
        if not 0 <= self.max_wait <= 1:
            raise errors.InvalidArgument(f"max_wait must be 0-1 seconds, not {self.max_wait}")
        if self.writers < 1 or self.max_queued < 1 or self.queue_timeout < 0 or self.max_legs_grouped < 2:
            raise errors.InvalidArgument(f"invalid group policy: {self}")


def resolve_policy(group: bool | GroupPolicy | None) -> GroupPolicy | None:
    """``group=True`` -> the default policy; False/None -> no grouping."""
    if group is True:
        return GroupPolicy()
    if group is False or group is None:
        return None
    if isinstance(group, GroupPolicy):
        return group
    raise errors.InvalidArgument(f"group must be a bool or a GroupPolicy, not {group!r}")


@dataclass
class GroupStats:
    """What the group poster did: groups sent, requests in them, the largest group, and groups split after the
    database refused them whole."""

    groups: int = 0
    requests: int = 0
    largest: int = 0
    split: int = 0
    waited: int = 0

    def record(self, size: int) -> None:
        self.groups += 1
        self.requests += size
        self.largest = max(self.largest, size)

    @property
    def mean_size(self) -> float:
        return self.requests / self.groups if self.groups else 0.0


class Pending:
    """One caller's request, waiting for its outcome. ``doc`` is the request as the database reads it, built in
    the caller's thread so that a malformed request fails there, alone (:class:`~dualbook.errors.InvalidArgument`).
    ``kind``: ENTRY (``request`` an :class:`EntryRequest`) or HOLD (``request`` a
    :class:`~dualbook.holdcalls.HoldOp`)."""

    __slots__ = ("book", "caller", "doc", "done", "error", "kind", "request", "result")

    def __init__(self, request: EntryRequest | HoldOp, book: str, caller: int) -> None:
        self.request = request
        self.kind = HOLD if isinstance(request, HoldOp) else ENTRY
        self.doc = request.doc if isinstance(request, HoldOp) else encode(request)
        self.book = book
        self.caller = caller
        self.result: Any = None
        self.error: BaseException | None = None
        self.done: Any = None  # the poster's signal: a threading.Event or an asyncio.Future

    @property
    def legs(self) -> int:
        return self.request.legs if isinstance(self.request, HoldOp) else len(self.request.legs)

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def encode(request: EntryRequest) -> str:
    """The request as JSON text. What JSON cannot carry (NaN, an arbitrary object) is the caller's
    :class:`~dualbook.errors.InvalidArgument`, raised before anything is queued; every rule about the content is
    the database's, per entry."""
    doc = request.as_json()
    try:
        return json.dumps(doc, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise errors.InvalidArgument(f"request {request.key!r} cannot be sent as JSON: {exc}") from exc


def batch_call(group: list[Pending]) -> Call[list[Any]]:
    """The one call for a group (all of one book and kind), non-atomic: one result per request, in order --
    ``post_entries`` for entries, ``hold_requests`` for hold requests."""
    if group[0].kind == HOLD:
        return hold_requests_encoded([p.doc for p in group], book=group[0].book)
    return cast(Call[list[Any]], calls.post_entries_encoded([p.doc for p in group], atomic=False, book=group[0].book))


def single_call(p: Pending) -> Call[Any]:
    """The request alone: ``post_entry``, or the hold request's direct call (a group refused whole is split into
    these)."""
    r = p.request
    if isinstance(r, HoldOp):
        return r.call
    return calls.post_entry(
        r.key,
        r.legs,
        description=r.description,
        metadata=r.metadata,
        effective_date=r.effective_date,
        assertions=r.assertions,
        book=p.book,
    )


def alone_result(p: Pending, executed: Executed[Any]) -> Any:
    """A request sent alone: its result as the grouped path gives it."""
    result, attempts, recovered = executed
    if p.kind == HOLD:
        return replace(result, attempts=attempts)
    return PostResult(result.entry_id, result.created, result.recorded_at, result.balances, attempts, recovered)


def settle(group: list[Pending], results: list[Any], attempts: int, recovered: bool) -> None:
    """Give each caller its own outcome from the group's per-request results."""
    if len(results) != len(group):  # the database returns one row per entry; anything else is a bug, said loudly
        bug = errors.InfrastructureError(f"the group call returned {len(results)} results for {len(group)} requests")
        for p in group:
            p.error = bug
        return
    if group[0].kind == HOLD:
        for p, row in zip(group, results, strict=True):
            assert isinstance(p.request, HoldOp)
            try:
                p.result = hold_row_outcome(p.request.op, row, attempts)
            except errors.LedgerError as exc:
                p.error = exc
        return
    for p, r in zip(group, cast(list[BatchResult], results), strict=True):
        error = r.error
        if error is not None:
            p.error = error
        elif r.entry_id is None or r.recorded_at is None:
            p.error = errors.InfrastructureError(f"post_entries returned no entry for {r.idx}")
        else:
            p.result = PostResult(
                entry_id=r.entry_id,
                created=bool(r.created),
                recorded_at=r.recorded_at,
                balances=r.balances or {},
                attempts=attempts,
                recovered=recovered,
            )


class Arrivals:
    """Which callers posted recently: the writer waits for more only while some of them are not yet queued."""

    def __init__(self) -> None:
        self._seen: dict[int, float] = {}
        self._pruned = 0.0

    def saw(self, caller: int, now: float) -> None:
        self._seen[caller] = now
        if now - self._pruned > RECENT:
            self._seen = {c: t for c, t in self._seen.items() if now - t <= RECENT}
            self._pruned = now

    def expected(self, now: float) -> int:
        """Callers active in the last RECENT seconds."""
        return sum(1 for t in self._seen.values() if now - t <= RECENT)


def take(queue: deque[Pending], limit: int, book: str, into: list[Pending], kind: str = ENTRY) -> None:
    """Move up to ``limit - len(into)`` queued requests of ``book`` and ``kind`` into the group, keeping arrival
    order."""
    if not queue:
        return
    kept: deque[Pending] = deque()
    while queue and len(into) < limit:
        p = queue.popleft()
        (into if p.book == book and p.kind == kind else kept).append(p)
    if kept:
        queue.extendleft(reversed(kept))


class Gathering:
    """The state both posters share -- the queue, the recent callers, the callers in flight -- and the decisions
    made on it. The thread poster calls these under its ``threading.Condition``, the asyncio one under its
    ``asyncio.Condition``; only the waiting differs."""

    def __init__(self, policy: GroupPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.stats = GroupStats()
        self.clock = clock
        self.queue: deque[Pending] = deque()
        self.arrivals = Arrivals()
        self.in_flight: set[int] = set()  # callers whose request a writer is sending
        self.closed = False

    def full(self) -> bool:
        return len(self.queue) >= self.policy.max_queued

    def queue_full_error(self) -> errors.GroupQueueFull:
        return errors.GroupQueueFull(
            f"{len(self.queue)} requests are waiting for a writer (max_queued {self.policy.max_queued}); "
            f"waited {self.policy.queue_timeout:g} s"
        )

    def enqueue(self, p: Pending) -> None:
        self.arrivals.saw(p.caller, self.clock())
        self.queue.append(p)

    def start(self) -> tuple[list[Pending], float | None]:
        """A new group from the head of the queue, and the deadline until which it may wait for more (None: it
        may not wait)."""
        group: list[Pending] = []
        take(self.queue, self.policy.max_entries, self.queue[0].book, group, self.queue[0].kind)
        may_wait = self.policy.max_wait > 0 and len(group) < self.policy.max_entries and not self.closed
        return group, (self.clock() + self.policy.max_wait) if may_wait else None

    def wait_for_more(self, group: list[Pending], deadline: float) -> float:
        """How long to wait for more requests now (0: send the group): only while it is not full, the deadline
        has not passed, and callers seen recently are neither in it, in flight nor queued."""
        now = self.clock()
        if len(group) >= self.policy.max_entries or now >= deadline:
            return 0.0
        coming = self.arrivals.expected(now) - len(group) - len(self.in_flight) - len(self.queue)
        return deadline - now if coming > 0 else 0.0

    def refill(self, group: list[Pending]) -> None:
        take(self.queue, self.policy.max_entries, group[0].book, group, group[0].kind)

    def launch(self, group: list[Pending], waited: bool) -> None:
        self.stats.waited += waited
        self.stats.record(len(group))
        self.in_flight.update(p.caller for p in group)

    def landed(self, group: list[Pending]) -> None:
        self.in_flight.difference_update(p.caller for p in group)

    def refused_whole(self, group: list[Pending], exc: BaseException) -> bool:
        """The group's call failed as a whole. Retries exhausted: every caller gets that (False). Otherwise the
        database refused the group, which no caller may be blamed for: True, send each request alone."""
        if isinstance(exc, errors.RetriesExhausted):
            for p in group:
                p.error = exc
            return False
        self.stats.split += 1
        return True


def fail_unsettled(group: list[Pending], exc: BaseException) -> None:
    """Never leave a caller waiting: whoever has no outcome yet gets ``exc``."""
    for p in group:
        if p.result is None and p.error is None:
            p.error = exc


class Executor(Protocol):
    def execute(self, call: Call[T], conn: Any = None) -> Executed[T]: ...


class GroupPoster(Gathering):
    """The thread-based group poster behind :class:`~dualbook.Ledger` (``group=``)."""

    def __init__(self, executor: Executor, policy: GroupPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(policy, clock)
        self.executor = executor
        self._cond = threading.Condition()
        self._writers = [
            threading.Thread(target=self._writer, name=f"dualbook-group-{i}", daemon=True)
            for i in range(policy.writers)
        ]
        for w in self._writers:
            w.start()

    # --- callers ------------------------------------------------------------------------------------
    def post(self, request: EntryRequest, book: str) -> PostResult:
        """Queue the request, wait for its group, return its own outcome (or raise its own error)."""
        return cast(PostResult, self._submit(Pending(request, book, threading.get_ident())))

    def submit_hold(self, op: HoldOp, book: str, result_type: type[R]) -> R:
        """A hold, capture or void request: queued like an entry, sent in a group of hold requests."""
        result = self._submit(Pending(op, book, threading.get_ident()))
        if not isinstance(result, result_type):  # a bug, said loudly
            raise errors.InfrastructureError(f"a {op.op} request got a {type(result).__name__}")
        return result

    def _submit(self, p: Pending) -> Any:
        if p.legs > self.policy.max_legs_grouped:
            return self._alone(p)
        p.done = threading.Event()
        with self._cond:
            if self.closed:
                raise errors.InfrastructureError("the ledger client is closed")
            deadline = self.clock() + self.policy.queue_timeout
            while self.full():
                remaining = deadline - self.clock()
                if remaining <= 0 or self.closed:
                    raise self.queue_full_error()
                self._cond.wait(remaining)
            self.enqueue(p)
            self._cond.notify_all()
        p.done.wait()
        return p.outcome()

    def _alone(self, p: Pending) -> Any:
        return alone_result(p, self.executor.execute(single_call(p)))

    def close(self) -> None:
        """Send what is queued, then stop the writers."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        for w in self._writers:
            w.join()

    # --- writers ------------------------------------------------------------------------------------
    def _collect(self) -> list[Pending] | None:
        """The next group (None: closed and drained). Called by a writer thread."""
        with self._cond:
            while not self.queue:
                if self.closed:
                    return None
                self._cond.wait()
            group, deadline = self.start()
            waited = False
            while deadline is not None and (pause := self.wait_for_more(group, deadline)) > 0:
                waited = True
                self._cond.wait(pause)
                self.refill(group)
            self.launch(group, waited)
            self._cond.notify_all()  # room in the queue for blocked callers
            return group

    def _writer(self) -> None:
        while True:
            group = self._collect()
            if group is None:
                return
            try:
                self._send(group)
            except BaseException as exc:
                fail_unsettled(group, exc)
            finally:
                with self._cond:
                    self.landed(group)
                for p in group:
                    p.done.set()

    def _send(self, group: list[Pending]) -> None:
        try:
            results, attempts, recovered = self.executor.execute(batch_call(group))
        except (errors.LedgerError, psycopg.Error) as exc:
            if self.refused_whole(group, exc):
                for p in group:
                    try:
                        p.result = self._alone(p)
                    except BaseException as one:
                        p.error = one
            return
        settle(group, results, attempts, recovered)
