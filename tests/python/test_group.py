"""Group posting (dualbook.group / dualbook.agroup) against a real database: concurrent single-entry callers are
sent as post_entries groups, and each caller gets exactly what post_entry alone would have given it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from dualbook import AsyncLedger, GroupPolicy, Ledger, PostResult, credit, debit
from dualbook import errors as E
from dualbook.db import roles
from dualbook.db.cluster import Cluster
from dualbook.group import GroupPoster
from dualbook.tools.certify import AckRecord, check_invariants

from .faults import CommitDroppingProxy

WALLETS = 16


def chart(lg: Ledger, wallets: int = WALLETS, funds: int = 1_000) -> None:
    lg.create_account("bank", "USD", "asset")
    for i in range(wallets):
        lg.create_account(f"w:{i}", "USD", "liability", lower_limit=0)
        lg.post_entry(f"fund:{i}", [debit("bank", funds, "USD"), credit(f"w:{i}", funds, "USD")])


@pytest.fixture
def grouped(app_url: str) -> Iterator[Ledger]:
    with Ledger.connect(app_url, max_size=6, group=GroupPolicy(max_entries=50, max_wait=0.002)) as lg:
        yield lg


def run_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)

    def start(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(start, range(n)))


def test_concurrent_callers_are_grouped_and_each_gets_its_entry(app_url: str, grouped: Ledger, reader_url: str) -> None:
    chart(grouped)
    record: dict[str, AckRecord] = {}

    def caller(i: int) -> list[PostResult]:
        out = []
        for k in range(25):
            key = f"pay:{i}:{k}"
            legs = [debit(f"w:{i}", 1, "USD"), credit(f"w:{(i + 1) % WALLETS}", 1, "USD")]
            r = grouped.post_entry(key, legs)
            record[key] = AckRecord.of(r, legs)
            out.append(r)
        return out

    results = run_threads(WALLETS, caller)
    assert all(r.created for rs in results for r in rs)
    ids = [r.entry_id for rs in results for r in rs]
    assert len(set(ids)) == len(ids) == WALLETS * 25
    stats = grouped.group.stats if grouped.group else None
    assert stats is not None and stats.requests >= WALLETS * 25 and stats.groups < stats.requests
    assert stats.largest > 1  # concurrent callers did share groups
    for i in range(WALLETS):  # everyone paid 25 and received 25
        assert grouped.get_balance(f"w:{i}").balance == 1_000
    report = check_invariants(reader_url, record)
    assert report.ok, report.findings


def test_each_caller_gets_its_own_outcome_and_error(grouped: Ledger, app_url: str) -> None:
    chart(grouped, wallets=4, funds=100)
    grouped.post_entry("seen", [debit("w:0", 1, "USD"), credit("w:1", 1, "USD")])
    cases: list[tuple[str, list[Any], type[BaseException] | None]] = [
        ("ok:1", [debit("w:2", 5, "USD"), credit("w:3", 5, "USD")], None),
        ("unbalanced", [debit("w:2", 5, "USD"), credit("w:3", 4, "USD")], E.UnbalancedEntry),
        ("overdraft", [debit("w:3", 10_000, "USD"), credit("w:2", 10_000, "USD")], E.LimitExceeded),
        ("unknown", [debit("nope", 1, "USD"), credit("w:2", 1, "USD")], E.UnknownAccount),
        ("seen", [debit("w:0", 1, "USD"), credit("w:1", 1, "USD")], None),  # a replay
        ("seen", [debit("w:0", 2, "USD"), credit("w:1", 2, "USD")], E.IdempotencyConflict),
        ("ok:2", [debit("w:1", 1, "USD"), credit("w:0", 1, "USD")], None),
        ("bad-currency", [debit("w:1", 1, "EUR"), credit("w:0", 1, "EUR")], E.LedgerError),
    ]
    outcomes = run_threads(len(cases), lambda i: _outcome(lambda: grouped.post_entry(cases[i][0], cases[i][1])))
    for (key, _, expected), got in zip(cases, outcomes, strict=True):
        if expected is None:
            assert isinstance(got, PostResult), (key, got)
        else:
            assert isinstance(got, expected), (key, got)
            assert isinstance(got, E.LedgerError) and got.code and got.code.startswith("LD"), (key, got)
    replay = outcomes[4]
    assert isinstance(replay, PostResult) and replay.created is False
    # Nothing of a refused request was written.
    assert grouped.get_balance("w:3").balance == 105
    with pytest.raises(E.UnknownEntry):
        grouped.get_entry(key="unbalanced")


def _outcome(fn: Callable[[], PostResult]) -> PostResult | BaseException:
    try:
        return fn()
    except BaseException as exc:
        return exc


def test_errors_match_post_entry_alone(app_url: str, db_url: str) -> None:
    """A refused request's exception is the one post_entry alone raises: class, SQLSTATE, message and detail."""
    with Ledger.connect(app_url, max_size=2) as alone, Ledger.connect(app_url, max_size=2, group=True) as grp:
        chart(alone, wallets=2, funds=10)
        legs = [debit("w:0", 11, "USD"), credit("w:1", 11, "USD")]
        with pytest.raises(E.LimitExceeded) as a:
            alone.post_entry("x:alone", legs)
        with pytest.raises(E.LimitExceeded) as g:
            grp.post_entry("x:grouped", legs)
        assert (g.value.code, g.value.message) == (a.value.code, a.value.message)
        assert g.value.context == a.value.context


def test_serial_semantics_inside_a_group(app_url: str) -> None:
    """Two requests on one wallet funded for one of them: one posts, the other is refused, as if serial."""
    policy = GroupPolicy(max_entries=100, max_wait=0.05, writers=1)
    with Ledger.connect(app_url, max_size=4, group=policy) as lg:
        chart(lg, wallets=2, funds=10)
        outcomes = run_threads(
            8,
            lambda i: _outcome(lambda: lg.post_entry(f"spend:{i}", [debit("w:0", 5, "USD"), credit("w:1", 5, "USD")])),
        )
        posted = [o for o in outcomes if isinstance(o, PostResult)]
        refused = [o for o in outcomes if isinstance(o, E.LimitExceeded)]
        assert len(posted) == 2 and len(refused) == 6, outcomes
        assert lg.get_balance("w:0").balance == 0


def test_a_caller_alone_is_never_kept_waiting(app_url: str) -> None:
    with Ledger.connect(app_url, max_size=2, group=GroupPolicy(max_wait=0.5)) as lg:
        chart(lg, wallets=2)
        for k in range(10):
            lg.post_entry(f"solo:{k}", [debit("w:0", 1, "USD"), credit("w:1", 1, "USD")])
        assert lg.group is not None
        assert lg.group.stats.waited == 0 and lg.group.stats.largest == 1


def test_a_group_refused_whole_is_split_so_no_caller_gets_anothers_error(app_url: str) -> None:
    """The first group call fails as a whole in the database (a real error: the function is called with a document
    whose entries are not an array); the poster then sends each request alone and each gets its own, correct outcome."""
    with Ledger.connect(app_url, max_size=4) as lg:
        chart(lg, wallets=4)
        failed_once = threading.Event()

        class FailingFirstGroup:
            def execute(self, call: Any, conn: Any = None) -> Any:
                if "post_entries" in call.sql and not failed_once.is_set():
                    failed_once.set()
                    broken = type(call)(call.sql, ("{}", call.params[1], call.params[2]), call.parse, True)
                    return lg.execute(broken)
                return lg.execute(call)

        poster = GroupPoster(FailingFirstGroup(), GroupPolicy(max_entries=10, max_wait=0.05, writers=1))
        try:
            requests = [("a", "w:0", "w:1", 5), ("b", "w:2", "w:3", 5), ("c", "w:1", "w:0", 10**9)]
            outcomes = run_threads(
                3,
                lambda i: _outcome(
                    lambda: poster.post(
                        _request(requests[i][0], requests[i][1], requests[i][2], requests[i][3]), "default"
                    )
                ),
            )
        finally:
            poster.close()
        assert failed_once.is_set() and poster.stats.split >= 1
        assert isinstance(outcomes[0], PostResult) and isinstance(outcomes[1], PostResult)
        assert isinstance(outcomes[2], E.LimitExceeded)


def _request(key: str, src: str, dst: str, amount: int) -> Any:
    from dualbook import EntryRequest

    return EntryRequest(key, [debit(src, amount, "USD"), credit(dst, amount, "USD")])


def test_a_malformed_request_fails_alone_before_it_is_queued(grouped: Ledger) -> None:
    chart(grouped, wallets=2)
    with pytest.raises(E.InvalidArgument, match="JSON"):
        grouped.post_entry("nan", [debit("w:0", 1, "USD"), credit("w:1", 1, "USD")], metadata={"x": float("nan")})
    assert grouped.post_entry("fine", [debit("w:0", 1, "USD"), credit("w:1", 1, "USD")]).created


def test_lost_commit_of_a_group_is_resolved_by_key(cluster: Cluster, db_url: str, app_url: str) -> None:
    dbname = db_url.rsplit("/", 1)[1]
    assert cluster.port is not None
    with Ledger.connect(app_url, max_size=2) as setup:
        chart(setup, wallets=4)
    proxy = CommitDroppingProxy(cluster.port, on="statement")
    try:
        policy = GroupPolicy(max_entries=10, max_wait=0.05, writers=1)
        with Ledger.connect(proxy.url(dbname, roles.APP), max_size=2, group=policy) as lg:
            proxy.armed.set()
            outcomes = run_threads(
                4, lambda i: lg.post_entry(f"torn:{i}", [debit("bank", 7, "USD"), credit(f"w:{i}", 7, "USD")])
            )
            assert proxy.dropped == 1
    finally:
        proxy.close()
    assert any(r.recovered for r in outcomes)
    with Ledger.connect(app_url, max_size=2) as check:
        for i in range(4):  # each exactly once
            assert check.get_balance(f"w:{i}").balance == 1_007
            assert check.get_balance(f"w:{i}").seq == 2


def test_backpressure_bounded_queue(app_url: str, db_url: str) -> None:
    """While a writer is stuck (a superuser holds the account row, for less than the app role's lock_timeout), the
    queue fills to max_queued and the next caller gets GroupQueueFull after queue_timeout; then everything queued
    completes."""
    policy = GroupPolicy(max_entries=1, max_wait=0, writers=1, max_queued=1, queue_timeout=0.3)
    with Ledger.connect(app_url, max_size=3, group=policy) as lg:
        chart(lg, wallets=2)
        with psycopg.connect(db_url) as blocker:
            blocker.execute("SELECT 1 FROM ledger_private.account WHERE code = 'w:0' FOR UPDATE")
            first = threading.Thread(
                target=lambda: lg.post_entry("q:1", [debit("bank", 1, "USD"), credit("w:0", 1, "USD")])
            )
            second = threading.Thread(
                target=lambda: lg.post_entry("q:2", [debit("bank", 1, "USD"), credit("w:0", 1, "USD")])
            )
            assert lg.group is not None
            before = lg.group.stats.groups  # chart() posted through the poster too
            first.start()
            _wait_until(lambda: lg.group is not None and lg.group.stats.groups == before + 1)
            second.start()
            _wait_until(lambda: lg.group is not None and len(lg.group.queue) == 1)
            with pytest.raises(E.GroupQueueFull):
                lg.post_entry("q:3", [debit("bank", 1, "USD"), credit("w:0", 1, "USD")])
        first.join(10)
        second.join(10)
        assert lg.get_balance("w:0").balance == 1_002  # q:1 and q:2 posted, q:3 never sent
        with pytest.raises(E.UnknownEntry):
            lg.get_entry(key="q:3")


def _wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_async_callers_are_grouped(app_url: str, reader_url: str) -> None:
    with Ledger.connect(app_url, max_size=2) as setup:
        chart(setup, wallets=8)

    async def main() -> tuple[list[PostResult | BaseException], int, int]:
        async with await AsyncLedger.connect(app_url, max_size=4, group=GroupPolicy(max_wait=0.002)) as lg:

            async def caller(i: int) -> PostResult | BaseException:
                try:
                    return await lg.post_entry(f"a:{i}", [debit(f"w:{i % 8}", 1, "USD"), credit("bank", 1, "USD")])
                except BaseException as exc:
                    return exc

            outcomes = await asyncio.gather(*(caller(i) for i in range(64)))
            bad = await caller(1000 + 0)  # w:0 is funded: fine; an unbalanced one fails alone:
            try:
                await lg.post_entry("a:bad", [debit("w:0", 1, "USD"), credit("bank", 2, "USD")])
                unbalanced = 0
            except E.UnbalancedEntry:
                unbalanced = 1
            assert lg.group is not None
            return [*outcomes, bad], lg.group.stats.largest, unbalanced

    outcomes, largest, unbalanced = asyncio.run(main())
    assert all(isinstance(o, PostResult) and o.created for o in outcomes), outcomes
    assert largest > 1 and unbalanced == 1
