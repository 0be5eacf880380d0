"""The synchronous client: :class:`Ledger` over a psycopg connection pool.

Every write runs in its own SERIALIZABLE transaction and is retried on serialization failures, deadlocks and
lost connections with bounded, jittered exponential backoff (see :mod:`dualbook.retry`). Every method also
accepts ``conn=``: the caller's open connection, whose transaction (which must be SERIALIZABLE — the database
checks it and raises :class:`~dualbook.errors.NotSerializable`) the call joins without committing and without
retrying; :meth:`Ledger.transaction` / :func:`run_serializable` retry the caller's whole unit of work instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg_pool import ConnectionPool

from dualbook import calls, errors, reads, reports
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
from dualbook.group import GroupPolicy, GroupPoster, resolve_policy
from dualbook.holds import HoldsMixin
from dualbook.money import Money, format_amount, parse_amount, split_money
from dualbook.reads import ReadPolicy
from dualbook.results import Snapshot
from dualbook.retry import Attempts, RetryPolicy, RetryStats, is_connection_loss

T = TypeVar("T")


def configure_connection(conn: psycopg.Connection[Any]) -> None:
    """Pool connections: autocommit, each statement a SERIALIZABLE transaction (the session default, set by
    :func:`dualbook.calls.serializable_conninfo`); explicit transactions (``conn.transaction()``) SERIALIZABLE too."""
    conn.isolation_level = IsolationLevel.SERIALIZABLE
    conn.autocommit = True


def configure_read_connection(conn: psycopg.Connection[Any]) -> None:
    """Read-target connections: autocommit between reads (the position queries), each read an explicit
    REPEATABLE READ READ ONLY transaction (a hot standby refuses SERIALIZABLE)."""
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    conn.autocommit = True


def run_serializable(
    conn: psycopg.Connection[Any],
    fn: Callable[[psycopg.Connection[Any]], T],
    policy: RetryPolicy | None = None,
    stats: RetryStats | None = None,
) -> T:
    """Run ``fn(conn)`` in a SERIALIZABLE transaction on the caller's connection, committing at the end, and
    re-run the whole unit on serialization failures (40001/40P01) up to ``policy.max_attempts`` times.

    ``fn`` may call any :class:`Ledger` method with ``conn=conn`` together with the caller's own statements: they
    commit atomically. ``fn`` must be safe to re-run (use idempotency keys for ledger writes).
    A lost connection is not retried here: the connection is the caller's.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise psycopg.ProgrammingError("run_serializable needs a connection that is not inside a transaction")
    conn.isolation_level = IsolationLevel.SERIALIZABLE
    attempts = Attempts(policy or RetryPolicy(), stats, retry_lost=False)
    while True:
        attempts.next()
        try:
            with conn.transaction():
                result = fn(conn)
            attempts.done()
            return result
        except psycopg.Error as exc:
            time.sleep(attempts.backoff_or_raise(exc))


class Ledger(HoldsMixin):
    """A client of the ledger's SQL API.

    Example::

        with Ledger.connect("postgresql://app@localhost/ledger") as ledger:
            ledger.create_account("bank", "USD", "asset")
            ledger.create_account("wallet:1", "USD", "liability", lower_limit=0)
            r = ledger.post_entry("topup:1", [debit("bank", 1000, "USD"), credit("wallet:1", 1000, "USD")])
            assert ledger.get_balance("wallet:1").balance == 1000
    """

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        book: str = "default",
        retry: RetryPolicy | None = None,
        group: bool | GroupPolicy = False,
        read_pool: ConnectionPool | None = None,
        read_policy: ReadPolicy | None = None,
    ) -> None:
        self.pool = pool
        #: the read target's pool (a replica), or None: reads run on the primary
        self.read_pool = read_pool
        self.read_policy = read_policy or ReadPolicy()
        self.book = book
        self.retry = retry or RetryPolicy()
        self.stats = RetryStats()
        self._exponents: dict[str, int] = {}
        policy = resolve_policy(group)
        #: the group poster when grouping is on (``group=True`` or a :class:`GroupPolicy`), else None
        self.group: GroupPoster | None = GroupPoster(self, policy) if policy is not None else None

    @classmethod
    def connect(
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
    ) -> Ledger:
        """A client with its own pool of connections to ``url``: each call is one statement in autocommit
        mode, a SERIALIZABLE transaction of its own (one round trip); ``transaction()`` and ``run_serializable``
        open explicit SERIALIZABLE transactions. With ``group`` (True, or a :class:`~dualbook.GroupPolicy`),
        concurrent ``post_entry`` calls from many threads are grouped into ``post_entries`` calls
        (:mod:`dualbook.group`): each caller still gets exactly its own outcome.

        With ``read_url`` (a streaming replica), reads and reports run there in REPEATABLE READ READ ONLY
        transactions, as fresh as ``read_policy`` asks (default: they see every write this process saw
        committed; :mod:`dualbook.reads`); writes and ``get_outcome`` stay on ``url``."""
        policy = read_policy or ReadPolicy()
        read_pool = None
        if read_url is not None:
            read_pool = ConnectionPool(
                reads.read_conninfo(read_url),
                min_size=min_size,
                max_size=max_size,
                configure=configure_read_connection,
                timeout=max(policy.timeout, 0.5),
                open=True,
                name="dualbook-read",
            )
        pool = ConnectionPool(
            calls.serializable_conninfo(url),
            min_size=min_size,
            max_size=max_size,
            configure=configure_connection,
            timeout=timeout,
            open=True,
            name="dualbook",
        )
        return cls(pool, book=book, retry=retry, group=group, read_pool=read_pool, read_policy=policy)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()  # what is queued is sent first
        self.pool.close()
        if self.read_pool is not None:
            self.read_pool.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- execution ------------------------------------------------------------------------------
    def execute(self, call: Call[T], conn: psycopg.Connection[Any] | None = None) -> Executed[T]:
        """Run a call: in the caller's transaction (``conn``), or in its own retried SERIALIZABLE transaction.

        Returns ``Executed(result, attempts, recovered)``: the parsed result, the transactions it took, and whether
        an earlier attempt lost its connection with the outcome unknown (resolved by the retry with the same call).
        """
        if conn is not None:
            try:
                return Executed(call.parse(calls.fetch_rows(conn, call)), 1, False)
            except psycopg.Error as exc:
                raise calls.map_error(exc) from exc
        attempts = Attempts(self.retry, self.stats)
        while True:
            attempts.next()
            try:
                with self.pool.connection() as c:
                    if call.isolation is None and c.autocommit:
                        # one statement in autocommit: its own SERIALIZABLE transaction, one round trip (a pool
                        # not configured by connect() gets an explicit transaction below)
                        rows = calls.fetch_rows(c, call)
                    else:
                        if call.isolation is not None:
                            c.isolation_level = call.isolation
                        try:
                            with c.transaction():
                                rows = calls.fetch_rows(c, call)
                        finally:
                            if call.isolation is not None and not c.closed:
                                c.isolation_level = IsolationLevel.SERIALIZABLE
                attempts.done()
                return Executed(call.parse(rows), attempts.n, attempts.lost > 0)
            except psycopg.Error as exc:
                delay = attempts.backoff_or_raise(exc)
                if is_connection_loss(exc):
                    # The server went away (a crash, a failover): drop every idle connection to it at once rather
                    # than meeting them one retry at a time; the pool reconnects, through a multi-host URL to
                    # whichever server accepts writes now.
                    with contextlib.suppress(psycopg.Error):
                        self.pool.check()
                time.sleep(delay)

    def report(self, call: Call[T]) -> T:
        """Run a read of many rows (a report) on the read target: ``read(call)[0]``."""
        return self.read(call)[0]

    def read(self, call: Call[T], policy: ReadPolicy | None = None) -> tuple[T, Snapshot]:
        """Run a read on the read target and say what it reflects: ``(result, Snapshot(lsn, source, at))``.

        On a replica (``read_url``): first, as ``policy`` (default: the client's ``read_policy``) asks, wait until
        it has replayed the primary's position (read-your-writes) or is within ``max_lag``; then read in one
        REPEATABLE READ READ ONLY transaction. :class:`~dualbook.errors.ReplicaLagging` /
        :class:`~dualbook.errors.ReplicaUnavailable` when it cannot within ``policy.timeout``, or the primary's
        answer with ``fallback``. Without a read target: the primary, in a SERIALIZABLE READ ONLY DEFERRABLE
        transaction, which waits if need be for a snapshot no concurrent writer can make inconsistent and then
        can never fail with a serialization error nor make a writer fail. Lost connections are retried."""
        policy = policy or self.read_policy
        if self.read_pool is None:
            return self._read_primary(call)
        try:
            return self._read_replica(self.read_pool, call, policy)
        except (errors.ReplicaLagging, errors.ReplicaUnavailable):
            if not policy.fallback:
                raise
            return self._read_primary(call)

    def _read_primary(self, call: Call[T]) -> tuple[T, Snapshot]:
        return reads.read_primary(self.pool, call, self.retry, self.stats)

    def _read_replica(self, pool: ConnectionPool, call: Call[T], policy: ReadPolicy) -> tuple[T, Snapshot]:
        def primary_position() -> str:
            return self.execute(reads.primary_position_call())[0]

        return reads.read_replica(pool, call, policy, primary_position, self.retry, self.stats)

    def transaction(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run the caller's unit of work ``fn(conn)`` in one SERIALIZABLE transaction from the pool, retried as a
        whole on serialization failures. Ledger calls inside pass ``conn=conn``."""
        with self.pool.connection() as c:
            return run_serializable(c, fn, self.retry, self.stats)

    def _book(self, book: str | None) -> str:
        return book if book is not None else self.book

    # --- writes ---------------------------------------------------------------------------------
    def post_entry(
        self,
        key: str,
        legs: Iterable[Leg | Mapping[str, Any]],
        *,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        effective_date: date | None = None,
        assertions: Sequence[BalanceAssertion | Mapping[str, Any]] | None = None,
        book: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> PostResult:
        """Post one balanced entry (see docs/sql-api.md). Idempotent by ``key``: a replay of the same request
        returns the original entry with ``created=False``. A refusal raises its exception; one that depends on
        the ledger's state (limit, assertion, closed or unknown account, ...) is recorded with the key
        (``exc.recorded``), and every later call with the key and the same request raises it again. With
        ``conn``, the record commits with the caller's transaction (an exception that rolls it back undoes it). With
        grouping on and no ``conn``, the request joins the next group (same outcome as alone)."""
        if self.group is not None and conn is None:
            request = EntryRequest(key, list(legs), description, metadata, effective_date, assertions)
            return self.group.post(request, self._book(book))
        call = calls.post_entry(
            key,
            legs,
            description=description,
            metadata=metadata,
            effective_date=effective_date,
            assertions=assertions,
            book=self._book(book),
        )
        result, attempts, recovered = self.execute(call, conn)
        return replace(result, attempts=attempts, recovered=recovered)

    def post_entries(
        self,
        entries: Sequence[EntryRequest | Mapping[str, Any]],
        *,
        atomic: bool = False,
        book: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> list[BatchResult]:
        """Post many entries in one call and one transaction; one result per entry, in order. A rejected entry
        leaves nothing behind and the others post; with ``atomic=True`` the first failure raises and nothing
        posts. A serialization failure retries the whole batch (its posted keys replay as no-ops)."""
        return (self.execute(calls.post_entries(entries, atomic=atomic, book=self._book(book)), conn))[0]

    def reverse_entry(
        self,
        entry_id: int,
        key: str,
        *,
        reason: str | None = None,
        book: str | None = None,
        effective_date: date | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> PostResult:
        """Post the mirror image of ``entry_id`` (at most once per entry; obeys limits). Refusals are raised and
        recorded with the key as in :meth:`post_entry`. ``effective_date``: by default the original's while its
        period is open, else the first open day; a date in a closed period raises PeriodClosed."""
        result, attempts, recovered = self.execute(
            calls.reverse_entry(entry_id, key, reason=reason, book=self._book(book), effective_date=effective_date),
            conn,
        )
        return replace(result, attempts=attempts, recovered=recovered)

    def create_account(
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
        conn: psycopg.Connection[Any] | None = None,
    ) -> AccountResult:
        """Open an account (idempotent by code: the same attributes return the existing one, created=False)."""
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
        result, attempts, _ = self.execute(call, conn)
        return replace(result, attempts=attempts)

    def close_account(
        self, code: str, *, book: str | None = None, conn: psycopg.Connection[Any] | None = None
    ) -> datetime:
        """Close an account at zero balance; returns when it was closed."""
        return self.execute(calls.close_account(code, book=self._book(book)), conn)[0]

    def create_currency(
        self, code: str, exponent: int, name: str | None = None, *, conn: psycopg.Connection[Any] | None = None
    ) -> bool:
        """Add a custom asset or currency; True if created, False if it existed with the same exponent."""
        return self.execute(calls.create_currency(code, exponent, name), conn)[0]

    def create_book(self, code: str, name: str | None = None, *, conn: psycopg.Connection[Any] | None = None) -> int:
        """Add a book (a separate ledger); returns its id."""
        return self.execute(calls.create_book(code, name), conn).result.book_id

    def sequence_deferred(self, max_legs: int = 10_000) -> int | None:
        """Fold up to ``max_legs`` queued legs of deferred accounts into their balances, sequence numbers and
        running balances (READ COMMITTED, see docs/sql-api.md); returns how many, or None when another run
        holds the sequencer's lock. Balances are exact without it; statements number the legs once it ran."""
        return self.execute(calls.sequence_deferred(max_legs))[0]

    def drain_deferred(self, max_legs: int = 10_000, wait: float = 0.05, timeout: float = 60.0) -> int:
        """Run the sequencer until the queue is empty (waiting, up to ``timeout`` seconds in all, while another run
        holds the lock: then :class:`~dualbook.errors.WorkerBusy`); returns how many legs this call folded."""
        total = 0
        deadline = time.monotonic() + timeout
        while True:
            n = self.sequence_deferred(max_legs)
            if n is None:
                if time.monotonic() >= deadline:
                    raise errors.WorkerBusy(
                        f"another sequencer run held the lock for {timeout:g} s; folded {total}",
                        context={"folded": total},
                    )
                time.sleep(wait)
                continue
            total += n
            if n < max_legs:
                return total

    # --- reads ----------------------------------------------------------------------------------
    def get_balance(
        self, account: str, *, book: str | None = None, conn: psycopg.Connection[Any] | None = None
    ) -> Balance:
        """An account's normal balance (minor units), posting count, status and limits (on the read target)."""
        return self._point_read(calls.get_balance(account, book=self._book(book)), conn)

    def get_entry(
        self,
        entry_id: int | None = None,
        *,
        key: str | None = None,
        book: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
    ) -> Entry:
        """An entry with its legs, by id or by idempotency key."""
        if (entry_id is None) == (key is None):
            raise TypeError("give exactly one of entry_id or key")
        call = (
            calls.get_entry(entry_id, book=self._book(book))
            if entry_id is not None
            else calls.get_entry_by_key(key or "", book=self._book(book))
        )
        return self._point_read(call, conn)

    def get_outcome(
        self, key: str, *, book: str | None = None, conn: psycopg.Connection[Any] | None = None
    ) -> KeyOutcome:
        """What became of an idempotency key: posted (with its entry id), refused (the recorded refusal) or
        unknown (no call with the key has committed). Resolves a write whose answer was lost, from the key alone."""
        return self.execute(calls.get_outcome(key, book=self._book(book)), conn)[0]

    def get_currency(self, code: str, *, conn: psycopg.Connection[Any] | None = None) -> Currency:
        """A currency's exponent and name (a function: the app role may call it)."""
        return self._point_read(calls.get_currency(code), conn)

    def _point_read(self, call: Call[T], conn: psycopg.Connection[Any] | None) -> T:
        """A one-row read: in the caller's transaction (``conn``); else on the read target when there is one, else
        one SERIALIZABLE statement on the primary (one round trip)."""
        if conn is None and self.read_pool is not None:
            return self.read(call)[0]
        return self.execute(call, conn)[0]

    # The views (granted to the reader and, for currencies, accounts and the trial balance, to the app role too:
    # docs/security.md). Reports, each on the read target (see read()).
    def list_accounts(self, *, prefix: str = "", limit: int = 1000, book: str | None = None) -> list[AccountRow]:
        return self.report(calls.list_accounts(book=self._book(book), prefix=prefix, limit=limit))

    def currencies(self) -> dict[str, Currency]:
        return self.report(calls.currencies())

    def trial_balance(self, *, book: str | None = None) -> list[tuple[str, int, int, int]]:
        """(currency, debits, credits, net) per currency; net is 0 in balanced books."""
        return self.report(calls.trial_balance(book=self._book(book)))

    def books_check(self) -> list[Violation]:
        """Every broken invariant (empty list = the books balance). Reads everything."""
        return self.report(calls.books_check())

    # --- reports by effective date (dualbook.reports) --------------------------------------------
    def balance_as_of(self, account: str, as_of: date, *, book: str | None = None) -> reports.BalanceAsOf:
        """The account's balance over every posting dated up to and including ``as_of``."""
        return reports.stamped(self.read(reports.balance_as_of(account, as_of, book=self._book(book))))

    def balance_as_recorded(
        self,
        account: str,
        *,
        entry_id: int | None = None,
        recorded_at: datetime | None = None,
        book: str | None = None,
    ) -> reports.BalanceAsOf:
        """The account's balance over the entries up to ``entry_id`` (or recorded at or before ``recorded_at``),
        in the order the ledger recorded them, whatever their effective dates."""
        call = reports.balance_as_recorded(account, entry_id=entry_id, recorded_at=recorded_at, book=self._book(book))
        return reports.stamped(self.read(call))

    def statement(
        self,
        account: str,
        date_from: date,
        date_to: date,
        *,
        cursor: str | None = None,
        limit: int = 100,
        book: str | None = None,
    ) -> reports.StatementPage:
        """One page of the account's statement (opening, lines with running balances and the hold a capture
        posted, closing, pending amounts at the end; the first page also has the period's holds); pass the page's
        ``next_cursor`` to get the next one (None: the last page)."""
        call = reports.statement(account, date_from, date_to, cursor=cursor, limit=limit, book=self._book(book))
        return reports.stamped(self.read(call))

    def statement_pages(
        self, account: str, date_from: date, date_to: date, *, limit: int = 100, book: str | None = None
    ) -> Iterator[reports.StatementPage]:
        """Every page of the statement, in order (each page is its own read)."""
        cursor: str | None = None
        while True:
            page = self.statement(account, date_from, date_to, cursor=cursor, limit=limit, book=book)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def trial_balance_as_of(self, as_of: date, *, book: str | None = None) -> reports.TrialBalance:
        """Per currency, the debit and credit balances of every account as of the effective date ``as_of``."""
        return reports.stamped(self.read(reports.trial_balance_as_of(as_of, book=self._book(book))))

    def month_end_report(
        self, date_from: date, date_through: date, *, book: str | None = None
    ) -> reports.MonthEndReport:
        """Per account: opening, debits, credits and closing over the period; ``final`` once it is closed."""
        return reports.stamped(self.read(reports.month_end_report(date_from, date_through, book=self._book(book))))

    def close_period(self, through_date: date, *, book: str | None = None) -> reports.PeriodClose:
        """Close the book through ``through_date`` (before today, UTC): entries and reversals dated on or before
        it are refused from now on (PeriodClosed). Closing through the current close date again is a no-op
        (``created=False``); an earlier date raises CloseNotMonotonic."""
        result, attempts, _ = self.execute(reports.close_period(through_date, book=self._book(book)))
        return replace(result, attempts=attempts)

    def closed_through(self, *, book: str | None = None) -> date | None:
        """The date the book is closed through (None: no period closed)."""
        return self.report(reports.closed_through(book=self._book(book)))

    # --- money at the edges -----------------------------------------------------------------------
    def exponent(self, currency: str) -> int:
        """The minor-unit exponent of a currency (cached: exponents never change). Raises UnknownCurrency."""
        if currency not in self._exponents:
            self._exponents[currency] = self.get_currency(currency).exponent
        return self._exponents[currency]

    def parse_money(self, text: str) -> Money:
        """'12.34 USD' -> Money(1234, 'USD'), exact, using the currency's exponent from the database."""
        amount, currency = split_money(text)
        return Money(parse_amount(amount, self.exponent(currency)), currency)

    def format_money(self, amount: int, currency: str) -> str:
        """Money(1234, 'USD') -> '12.34 USD'."""
        return f"{format_amount(amount, self.exponent(currency))} {currency}"
