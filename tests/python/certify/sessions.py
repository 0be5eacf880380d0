"""Explicitly interleaved SERIALIZABLE transactions on several connections, driven from one test thread.

Each :class:`Session` is one connection with its own worker thread, so a statement may block on a row lock
(another session holds it) while the schedule goes on: after starting a step the driver waits until the step
finished or until the session's backend is waiting on a lock (``pg_blocking_pids``), then goes on. The driver
itself (the order of the steps, and how the results are compared with the model) is in test_model.py.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import IsolationLevel
from psycopg.pq import TransactionStatus

from dualbook import Ledger, calls

HANG_SECONDS = 60.0


class Skipped:
    """The step was not run: its transaction had already failed."""

    def __repr__(self) -> str:
        return "skipped"


SKIPPED = Skipped()


@dataclass
class Step:
    session: int
    # "begin" | "post" | "batch" (post_entries) | "commit" | "rollback" | "terminate" | "sequence" (the sequencer's)
    kind: str
    args: tuple[Any, ...] = ()
    future: Future[Any] | None = None
    meta: Any = None  # the driver's own note about the step (a batch's entries as the model sees them)


class Worker:
    """One daemon thread running submitted functions in order. Not a ThreadPoolExecutor: the interpreter joins
    those at exit, so one step blocked for ever (a failed example) would keep the whole test run from exiting."""

    def __init__(self, name: str) -> None:
        self.jobs: queue.Queue[tuple[Future[Any], Callable[[], Any]] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            future, fn = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.put((future, fn))
        return future

    def shutdown(self, timeout: float = HANG_SECONDS) -> None:
        self.jobs.put(None)
        self.thread.join(timeout)


class Session:
    """One SERIALIZABLE connection and the thread that drives it; or, with ``sequencer=True``, an autocommit READ
    COMMITTED connection that runs ``ledger.sequence_deferred`` (each call its own transaction, as documented)."""

    def __init__(self, url: str, name: str, ledger: Ledger, *, sequencer: bool = False) -> None:
        self.conn = psycopg.connect(
            url, autocommit=sequencer, application_name=name, options="-c deadlock_timeout=50ms"
        )
        if not sequencer:
            self.conn.isolation_level = IsolationLevel.SERIALIZABLE
        self.pid = self.conn.info.backend_pid
        self.ledger = ledger  # only its SQL calls are used (post_entry(..., conn=)): no pool, no retries
        self.worker = Worker(name)
        self.dead = False
        self.last: Future[Any] | None = None

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        self.last = self.worker.submit(fn)
        return self.last

    def busy(self) -> bool:
        return self.last is not None and not self.last.done()

    # --- the steps, run on the worker thread -----------------------------------------------------
    def begin(self, read: bool) -> str:
        # The first statement takes the transaction's snapshot; reading the accounts adds SIRead locks.
        self.conn.execute("SELECT count(*), sum(balance) FROM ledger.accounts" if read else "SELECT 1")
        return "begun"

    def post(self, key: str, legs: list[dict[str, Any]], description: str | None) -> Any:
        if self.conn.info.transaction_status == TransactionStatus.INERROR:
            return SKIPPED
        return self.ledger.post_entry(key, legs, description=description, conn=self.conn)

    def batch(self, entries: list[dict[str, Any]], atomic: bool) -> Any:
        if self.conn.info.transaction_status == TransactionStatus.INERROR:
            return SKIPPED
        return self.ledger.post_entries(entries, atomic=atomic, conn=self.conn)

    def sequence(self, max_legs: int) -> Any:
        return self.ledger.execute(calls.sequence_deferred(max_legs), self.conn)[0]

    def commit(self) -> str:
        if self.conn.info.transaction_status == TransactionStatus.INERROR:
            self.conn.rollback()
            return "rolled back"
        self.conn.commit()
        return "committed"

    def rollback(self) -> str:
        self.conn.rollback()
        return "rolled back"

    def close(self) -> None:
        self.worker.shutdown()
        self.conn.close()


def run_step(session: Session, step: Step) -> Future[Any]:
    fn: Callable[[], Any]
    if step.kind == "begin":
        fn = lambda: session.begin(*step.args)  # noqa: E731
    elif step.kind == "post":
        fn = lambda: session.post(*step.args)  # noqa: E731
    elif step.kind == "batch":
        fn = lambda: session.batch(*step.args)  # noqa: E731
    elif step.kind == "sequence":
        fn = lambda: session.sequence(*step.args)  # noqa: E731
    elif step.kind == "commit":
        fn = session.commit
    elif step.kind == "rollback":
        fn = session.rollback
    else:
        raise ValueError(step.kind)
    return session.submit(_capture(fn))


def _capture(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run fn; an exception becomes the result (the driver inspects it)."""

    def run() -> Any:
        try:
            return fn()
        except Exception as exc:  # every outcome is data here
            return exc

    return run


def wait_done_or_blocked(monitor: psycopg.Connection[Any], session: Session, future: Future[Any]) -> bool:
    """Wait until the step finished (True) or its backend waits on a lock held by another session (False)."""
    deadline = time.monotonic() + HANG_SECONDS
    wait = 0.02  # most steps finish within this; only then ask the server whether the backend waits on a lock
    while True:
        try:
            future.result(timeout=wait)
            return True
        except FutureTimeout:
            wait = 0.005
        row = monitor.execute("SELECT cardinality(pg_blocking_pids(%s))", (session.pid,)).fetchone()
        if row is not None and row[0] > 0:
            return False
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session.pid}: a step neither finished nor waited on a lock in time")


def terminate(monitor: psycopg.Connection[Any], session: Session) -> bool:
    """pg_terminate_backend from another connection, then wait until the backend is gone (polling: the function's
    own timeout argument waits in steps of 100 ms)."""
    row = monitor.execute("SELECT pg_terminate_backend(%s)", (session.pid,)).fetchone()
    session.dead = True
    deadline = time.monotonic() + HANG_SECONDS
    while monitor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (session.pid,)).fetchone():
        if time.monotonic() > deadline:
            raise AssertionError(f"backend {session.pid} survived pg_terminate_backend")
        time.sleep(0.001)
    return bool(row and row[0])
