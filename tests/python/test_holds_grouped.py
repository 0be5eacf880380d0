"""Holds through the group poster (``group=``): hold, capture and void requests sent as ``ledger.hold_requests()``
groups give each caller exactly what the direct call gives -- the same results, the same exception classes and
SQLSTATEs on the same inputs -- from threads and from asyncio tasks, mixed with grouped postings, with one
failing request in a group failing alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dualbook import AsyncLedger, GroupPolicy, Ledger, Leg, credit, debit
from dualbook import errors as E
from dualbook.holds import CaptureResult, HoldResult, VoidResult


def chart(lg: Ledger, prefix: str) -> None:
    lg.create_account(f"{prefix}bank", "USD", "asset")
    lg.create_account(f"{prefix}merchant", "USD", "liability")
    lg.create_account(f"{prefix}wallet", "USD", "liability", lower_limit=0)
    lg.post_entry(f"{prefix}fund", [debit(f"{prefix}bank", 1000, "USD"), credit(f"{prefix}wallet", 1000, "USD")])


def auth(p: str, amount: int, wallet: str = "wallet") -> list[Leg]:
    return [debit(f"{p}{wallet}", amount, "USD"), credit(f"{p}merchant", amount, "USD")]


def strip(d: dict[str, int] | None, p: str) -> dict[str, int] | None:
    return None if d is None else {k.removeprefix(p): v for k, v in d.items()}


def norm(outcome: Any, p: str) -> tuple[Any, ...]:
    """An outcome without what differs between two runs (ids, times, the account prefix)."""
    if isinstance(outcome, int):
        return ("value", outcome)
    if isinstance(outcome, BaseException):
        return ("error", type(outcome).__name__, getattr(outcome, "sqlstate", None), getattr(outcome, "recorded", None))
    if isinstance(outcome, HoldResult):
        return ("hold", outcome.created, outcome.expires_at is None, strip(outcome.available, p), outcome.attempts)
    if isinstance(outcome, CaptureResult):
        o = outcome
        return ("capture", o.created, o.amount, o.released, strip(o.balances, p), o.attempts)
    assert isinstance(outcome, VoidResult)
    return ("void", outcome.created, strip(outcome.released, p), outcome.attempts)


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except E.LedgerError as exc:
        return exc


def scenario(lg: Ledger, p: str) -> list[Any]:
    """Every kind of result and error of hold, capture and void, one request at a time."""
    out: list[Any] = []

    def do(fn: Callable[[], Any]) -> Any:
        out.append(outcome(fn))
        return out[-1]

    later = datetime.now(UTC) + timedelta(hours=1)
    h1 = do(lambda: lg.hold(f"{p}h1", auth(p, 600), description="card", metadata={"card": "4242"}))
    do(lambda: lg.hold(f"{p}h1", auth(p, 600), description="card", metadata={"card": "4242"}))  # replay
    do(lambda: lg.hold(f"{p}h1", auth(p, 601)))  # another request with the key: LD205
    do(lambda: lg.hold(f"{p}h2", auth(p, 500)))  # beyond available: recorded LD203
    do(lambda: lg.hold(f"{p}h2", auth(p, 500)))  # its replay
    do(lambda: lg.hold(f"{p}h3", [debit(f"{p}wallet", 5, "USD"), credit(f"{p}merchant", 4, "USD")]))  # LD102
    do(lambda: lg.hold(f"{p}h4", auth(p, 5), expires_at=datetime.now(UTC) - timedelta(hours=1)))  # LD120
    do(lambda: lg.hold(f"{p}h5", auth(p, 5, wallet="nowhere")))  # recorded LD201
    do(lambda: lg.hold(f"{p}h6", auth(p, 100), expires_at=later, effective_date=date.today()))
    do(lambda: lg.capture(h1.hold_id, f"{p}c1", 601))  # LD121
    do(lambda: lg.capture(h1.hold_id, f"{p}c1", 0))  # LD120
    do(lambda: lg.capture(h1.hold_id, f"{p}c1", 250))
    do(lambda: lg.capture(h1.hold_id, f"{p}c1", 250))  # replay
    do(lambda: lg.capture(h1.hold_id, f"{p}c2"))  # LD222
    do(lambda: lg.void(h1.hold_id, f"{p}v1"))  # LD224
    h7 = do(lambda: lg.hold(f"{p}h7", auth(p, 300)))
    do(lambda: lg.void(h7.hold_id, f"{p}v7"))
    do(lambda: lg.void(h7.hold_id, f"{p}v7"))  # replay
    do(lambda: lg.capture(h7.hold_id, f"{p}c7"))  # LD221
    do(lambda: lg.capture(10**12, f"{p}c9"))  # LD220
    do(lambda: lg.void(10**12, f"{p}v9"))  # LD220
    do(lambda: lg.get_available(f"{p}wallet").available)
    return out


def test_grouped_hold_capture_void_match_the_direct_calls(app_url: str) -> None:
    with Ledger.connect(app_url, max_size=2) as alone, Ledger.connect(app_url, max_size=2, group=True) as grouped:
        chart(alone, "d:")
        chart(grouped, "g:")
        assert grouped.group is not None
        before = grouped.group.stats.requests
        direct = scenario(alone, "d:")
        via_group = scenario(grouped, "g:")
        assert grouped.group.stats.requests - before == len(via_group) - 1  # every hold call went through a group
    assert [norm(o, "d:") for o in direct] == [norm(o, "g:") for o in via_group]
    # the scenario covers what it means to: results, recorded refusals and raised errors
    codes = {o.sqlstate for o in via_group if isinstance(o, E.LedgerError)}
    assert codes == {"LD102", "LD120", "LD121", "LD201", "LD203", "LD205", "LD220", "LD221", "LD222", "LD224"}
    assert via_group[-1] == 1000 - 250 - 100


def test_concurrent_holds_are_grouped_and_each_caller_gets_its_own(app_url: str) -> None:
    n = 24
    policy = GroupPolicy(max_entries=50, max_wait=0.005, writers=2)
    with Ledger.connect(app_url, max_size=4, group=policy) as lg:
        chart(lg, "")
        for i in range(n):
            lg.create_account(f"w:{i}", "USD", "liability", lower_limit=0)
            lg.post_entry(f"f:{i}", [debit("bank", 100, "USD"), credit(f"w:{i}", 100, "USD")])
        barrier = threading.Barrier(n)

        def caller(i: int) -> tuple[Any, Any, Any]:
            barrier.wait()
            w = f"w:{i}"
            amount = 150 if i % 6 == 0 else 60  # every sixth is beyond its wallet: refused alone
            h = outcome(lambda: lg.hold(f"h:{i}", [debit(w, amount, "USD"), credit("merchant", amount, "USD")]))
            if i % 2:  # odd callers post between hold and capture: entry groups and hold groups interleave
                lg.post_entry(f"p:{i}", [debit(w, 10, "USD"), credit("bank", 10, "USD")])
            if isinstance(h, HoldResult):
                c = outcome(lambda: lg.capture(h.hold_id, f"c:{i}", 40))
                v = outcome(lambda: lg.void(h.hold_id, f"v:{i}"))
            else:
                c = v = None
            return h, c, v

        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(caller, range(n)))
        stats = lg.group.stats if lg.group is not None else None
        balances = {i: lg.get_available(f"w:{i}") for i in range(n)}
    assert stats is not None and stats.largest > 1
    for i, (h, c, v) in enumerate(results):
        if i % 6 == 0:
            assert isinstance(h, E.LimitExceeded) and h.recorded and c is None
            continue
        assert isinstance(h, HoldResult) and h.created
        assert isinstance(c, CaptureResult) and (c.amount, c.released) == (40, 20)
        assert isinstance(v, E.HoldCapturedNotVoidable)
        spent = 40 + (10 if i % 2 else 0)
        assert (balances[i].balance, balances[i].pending_debit) == (100 - spent, 0)


def test_async_grouped_holds_match_the_direct_calls(app_url: str) -> None:
    with Ledger.connect(app_url, max_size=2) as setup:
        chart(setup, "")
        for i in range(8):
            setup.create_account(f"w:{i}", "USD", "liability", lower_limit=0)
            setup.post_entry(f"f:{i}", [debit("bank", 100, "USD"), credit(f"w:{i}", 100, "USD")])

    async def main() -> tuple[list[Any], int]:
        async with await AsyncLedger.connect(app_url, max_size=4, group=GroupPolicy(max_wait=0.005)) as lg:

            async def attempt(aw: Awaitable[Any]) -> Any:
                try:
                    return await aw
                except E.LedgerError as exc:
                    return exc

            async def caller(i: int) -> list[Any]:
                h = await attempt(lg.hold(f"h:{i}", auth("", 70, wallet=f"w:{i % 8}")))
                if not isinstance(h, HoldResult):
                    return [h]
                c = await attempt(lg.capture(h.hold_id, f"c:{i}", 30))
                v = await attempt(lg.void(h.hold_id, f"v:{i}"))
                return [h, c, v, await attempt(lg.capture(10**12, f"x:{i}"))]

            outcomes = await asyncio.gather(*(caller(i) for i in range(16)))
            assert lg.group is not None
            return [o for out in outcomes for o in out], lg.group.stats.largest

    flat, largest = asyncio.run(main())
    assert largest > 1
    holds = [o for o in flat if isinstance(o, HoldResult)]
    refused = [o for o in flat if isinstance(o, E.LimitExceeded)]
    assert len(holds) == 8 and len(refused) == 8  # two callers per wallet of 100: the second's 70 is refused
    assert all(o.recorded for o in refused)
    assert sum(isinstance(o, CaptureResult) and (o.amount, o.released) == (30, 40) for o in flat) == 8
    assert sum(isinstance(o, E.HoldCapturedNotVoidable) for o in flat) == 8
    assert sum(isinstance(o, E.UnknownHold) for o in flat) == 8


def test_a_hold_in_the_callers_transaction_is_not_grouped(app_url: str) -> None:
    with Ledger.connect(app_url, max_size=2, group=True) as lg:
        chart(lg, "")
        assert lg.group is not None
        before = lg.group.stats.requests

        def both(conn: Any) -> HoldResult:
            h = lg.hold("t:1", auth("", 10), conn=conn)
            lg.void(h.hold_id, "t:v", conn=conn)
            return h

        h = lg.transaction(both)
        assert lg.group.stats.requests == before
        assert lg.get_hold(h.hold_id).status == "voided"


def test_a_hold_group_refused_whole_is_split_into_direct_calls(app_url: str) -> None:
    """An unknown book refuses the whole hold_requests call (LD210): the group is split, and each caller gets the
    error its direct call gives, not another's."""
    with Ledger.connect(app_url, max_size=2) as alone, Ledger.connect(app_url, max_size=2, group=True) as grouped:
        chart(alone, "")
        direct = outcome(lambda: alone.hold("nb:1", auth("", 5), book="nobook"))
        via_group = outcome(lambda: grouped.hold("nb:1", auth("", 5), book="nobook"))
        void_group = outcome(lambda: grouped.void(1, "nb:v", book="nobook"))
        assert grouped.group is not None and grouped.group.stats.split == 2
        ok = grouped.hold("nb:2", auth("", 5))  # the default book, grouped as usual
    assert isinstance(direct, E.UnknownBook) and norm(via_group, "") == norm(direct, "")
    assert isinstance(void_group, E.UnknownBook)
    assert ok.created and ok.available == {"wallet": 995, "merchant": 0}
