"""`make demo`: the main job, end to end — a payments day on the embedded cluster or DATABASE_URL.

1. start (or reuse) the embedded cluster unless DATABASE_URL is set; deploy with Sqitch as the migrator (on the
   embedded cluster its superuser);
2. a chart of accounts in two currencies: ~1,000 customer wallets (no overdraft), 50 merchants, fee income,
   bank settlement;
3. a concurrent workload for ``seconds`` with ``clients`` threads: top-ups, payments with a fee leg, refunds
   by reversal, deliberate replays (same and different payload) and deliberately invalid requests;
4. a report: outcomes by kind, retries, throughput and latency, the trial balance per currency, and the verdict of
   the certification suite's invariant checker, ``dualbook.tools.certify.check_invariants`` (the five invariants of
   docs/certification-suite.md: the database's ``books_check()``, the trial balance, and the workload's own
   record — every acknowledged key posted exactly once as the entry id and legs it was told, every refused key
   absent). Exit status 1 if any invariant fails (or an invalid request was accepted).

Least privilege (docs/security.md): the workload connects as dualbook_app, the sequencer thread as
dualbook_sequencer and the report (the checker included: it reads the views and ``books_check()``) as
dualbook_reader, never as a superuser.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg.conninfo import conninfo_to_dict
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dualbook import errors
from dualbook.calls import Leg, PostResult, credit, debit
from dualbook.db import migrate
from dualbook.db.config import check_connect, resolve
from dualbook.group import GroupPolicy
from dualbook.ledger import Ledger
from dualbook.money import format_amount
from dualbook.retry import RetryPolicy
from dualbook.tools.certify import AckRecord, InvariantReport, check_invariants

CURRENCIES = ("USD", "EUR")
WALLETS_PER_CURRENCY = 500
MERCHANTS_PER_CURRENCY = 25
CLOSED_WALLET = "customers:closed:{cur}"


def wallet(i: int, cur: str) -> str:
    return f"customers:{i:04d}:{cur}"


def merchant(i: int, cur: str) -> str:
    return f"merchants:{i:03d}:{cur}"


def setup_chart(ledger: Ledger) -> int:
    """Create the chart of accounts (idempotent: a second run finds them); returns the number of accounts."""

    def create_all(conn: psycopg.Connection[Any]) -> int:
        n = 0
        for cur in CURRENCIES:
            # The bank and fee accounts take part in most entries: deferred (hot) accounts, whose legs are
            # queued instead of updating one row that every posting would fight over (docs/design.md).
            specs: list[tuple[str, str, int | None, bool]] = [
                (f"bank:settlement:{cur}", "asset", None, True),
                (f"income:fees:{cur}", "income", None, True),
            ]
            specs += [(wallet(i, cur), "liability", 0, False) for i in range(WALLETS_PER_CURRENCY)]
            specs += [(merchant(i, cur), "liability", 0, False) for i in range(MERCHANTS_PER_CURRENCY)]
            for code, type_, lower, deferred in specs:
                ledger.create_account(code, cur, type_, lower_limit=lower, deferred=deferred, conn=conn)
                n += 1
        return n

    n = ledger.transaction(create_all)
    for cur in CURRENCIES:
        with contextlib.suppress(errors.AccountClosed):  # closed by an earlier run: never re-created
            ledger.create_account(CLOSED_WALLET.format(cur=cur), cur, "liability", lower_limit=0)
        ledger.close_account(CLOSED_WALLET.format(cur=cur))
    return n + len(CURRENCIES)


@dataclass
class Outcomes:
    """What the workload saw, merged from every client thread."""

    counts: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    #: the client's record for invariant 5: every key acknowledged (entry id and legs it was told), every key
    #: the database refused with a definite error
    acknowledged: dict[str, AckRecord] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.latencies_ms.append(ms)

    def fail(self, what: str) -> None:
        with self.lock:
            self.unexpected.append(what)

    def ack(self, key: str, result: PostResult, legs: list[Leg]) -> None:
        with self.lock:
            self.acknowledged[key] = AckRecord.of(result, legs)

    def refuse(self, key: str) -> None:
        with self.lock:
            self.refused.add(key)


class Client:
    """One workload thread: picks an operation by weight, knows what outcome each must have."""

    def __init__(self, ledger: Ledger, run: str, n: int, out: Outcomes, seed: int) -> None:
        self.ledger = ledger
        self.run = run
        self.n = n
        self.out = out
        self.rng = random.Random(seed)
        self.seq = 0
        self.posted: list[tuple[str, list[Leg], int]] = []  # (key, legs, entry_id) of our payments
        self.ops: list[tuple[Callable[[], None], int]] = [
            (self.topup, 25),
            (self.payment, 50),
            (self.refund, 6),
            (self.replay_same, 6),
            (self.replay_different, 3),
            (self.invalid, 10),
            (self.card_auth, 8),
        ]

    def key(self, kind: str) -> str:
        self.seq += 1
        return f"demo:{self.run}:{self.n}:{self.seq}:{kind}"

    def timed(
        self,
        kind: str,
        fn: Callable[[], PostResult],
        expect: type[BaseException] | None = None,
        *,
        key: str,
        legs: list[Leg],
    ) -> PostResult | None:
        """Run one request; count its outcome; record anything that contradicts what it had to do, and what the
        client was told about ``key`` (posted as these ``legs``, or refused) for the invariant checker."""
        t0 = time.perf_counter()
        try:
            result = fn()
        except errors.LedgerError as exc:
            self.out.add(f"rejected: {exc.name}", (time.perf_counter() - t0) * 1000)
            # Without an expected error, only a limit may stop a valid request (a wallet that ran dry).
            legitimate = isinstance(exc, expect) if expect is not None else isinstance(exc, errors.LimitExceeded)
            if not legitimate:
                self.out.fail(f"{kind}: unexpected {exc.code} {exc}")
            if not isinstance(exc, errors.IdempotencyConflict):  # the key is another request's: it exists
                self.out.refuse(key)
            return None
        ms = (time.perf_counter() - t0) * 1000
        self.out.ack(key, result, legs)
        if expect is not None:
            self.out.add(f"ACCEPTED INVALID: {kind}", ms)
            self.out.fail(f"{kind}: an invalid request was accepted")
            return None
        self.out.add(kind, ms)
        return result

    def cur(self) -> str:
        return self.rng.choice(CURRENCIES)

    def topup(self) -> None:
        cur = self.cur()
        amount = self.rng.randrange(1_000, 50_000)
        w = wallet(self.rng.randrange(WALLETS_PER_CURRENCY), cur)
        legs = [debit(f"bank:settlement:{cur}", amount, cur), credit(w, amount, cur)]
        key = self.key("topup")
        self.timed("top-up", lambda: self.ledger.post_entry(key, legs, description="card top-up"), key=key, legs=legs)

    def payment(self) -> None:
        cur = self.cur()
        amount = self.rng.randrange(100, 10_000)
        fee = max(1, amount * 29 // 1000)  # 2.9%
        w = wallet(self.rng.randrange(WALLETS_PER_CURRENCY), cur)
        m = merchant(self.rng.randrange(MERCHANTS_PER_CURRENCY), cur)
        legs = [debit(w, amount, cur), credit(m, amount - fee, cur), credit(f"income:fees:{cur}", fee, cur)]
        key = self.key("pay")
        r = self.timed(
            "payment", lambda: self.ledger.post_entry(key, legs, description="card payment"), key=key, legs=legs
        )
        if r is not None:
            self.posted.append((key, legs, r.entry_id))

    def refund(self) -> None:
        if not self.posted:
            return self.payment()
        key, legs, entry_id = self.posted.pop(self.rng.randrange(len(self.posted)))
        # refunds can fail legitimately when the merchant already paid the money onward (limit_exceeded)
        refund = f"refund:{key}"
        self.timed(
            "refund",
            lambda: self.ledger.reverse_entry(entry_id, refund, reason="customer refund"),
            key=refund,
            legs=[Leg(leg.account, -leg.amount, leg.currency) for leg in legs],  # the mirror, leg by leg
        )

    def replay_same(self) -> None:
        if not self.posted:
            return self.topup()
        key, legs, entry_id = self.rng.choice(self.posted)
        r = self.timed(
            "replay (same payload)",
            lambda: self.ledger.post_entry(key, legs, description="card payment"),
            key=key,
            legs=legs,
        )
        if r is not None and (r.created or r.entry_id != entry_id):
            self.out.fail(f"replay of {key} was not a no-op: {r}")

    def replay_different(self) -> None:
        if not self.posted:
            return self.topup()
        key, legs, _ = self.rng.choice(self.posted)
        changed = [Leg(leg.account, leg.amount * 2, leg.currency) for leg in legs]
        self.timed(
            "replay (different payload)",
            lambda: self.ledger.post_entry(key, changed, description="card payment"),
            expect=errors.IdempotencyConflict,
            key=key,
            legs=changed,
        )

    def invalid(self) -> None:
        cur = self.cur()
        w = wallet(self.rng.randrange(WALLETS_PER_CURRENCY), cur)
        m = merchant(self.rng.randrange(MERCHANTS_PER_CURRENCY), cur)
        kind = self.rng.randrange(4)
        bank = f"bank:settlement:{cur}"
        exp: type[errors.LedgerError]
        if kind == 0:  # overdraft: more than any wallet can hold here
            legs, exp = [debit(w, 10**12, cur), credit(m, 10**12, cur)], errors.LimitExceeded
        elif kind == 1:
            legs, exp = [debit(w, 500, cur), credit(m, 499, cur)], errors.UnbalancedEntry
        elif kind == 2:
            legs, exp = [debit(bank, 500, cur), credit(f"merchants:none:{cur}", 500, cur)], errors.UnknownAccount
        else:
            legs, exp = [debit(bank, 500, cur), credit(CLOSED_WALLET.format(cur=cur), 500, cur)], errors.AccountClosed
        key = self.key("bad")
        self.timed("invalid", lambda: self.ledger.post_entry(key, legs), expect=exp, key=key, legs=legs)

    def card_auth(self) -> None:
        """A card authorisation (a hold on the wallet), then its capture in full or in part, a void, or -- left
        alone for a second -- its expiry. A capture is an entry like any other: acknowledged with its legs."""
        cur = self.cur()
        amount = self.rng.randrange(100, 10_000)
        w = wallet(self.rng.randrange(WALLETS_PER_CURRENCY), cur)
        m = merchant(self.rng.randrange(MERCHANTS_PER_CURRENCY), cur)
        fate = self.rng.choices(["capture", "partial capture", "void", "expiry"], [4, 3, 2, 1])[0]
        expires = datetime.now(UTC) + timedelta(seconds=1 if fate == "expiry" else 3600)
        t0 = time.perf_counter()
        try:
            hold = self.ledger.hold(
                self.key("auth"), [debit(w, amount, cur), credit(m, amount, cur)], description="card authorisation",
                expires_at=expires,
            )  # fmt: skip
        except errors.LedgerError as exc:
            self.out.add(f"rejected: {exc.name}", (time.perf_counter() - t0) * 1000)
            if not isinstance(exc, errors.LimitExceeded):  # only a wallet that ran dry may refuse it
                self.out.fail(f"authorisation: unexpected {exc.code} {exc}")
            return
        self.out.add("authorisation", (time.perf_counter() - t0) * 1000)
        if fate == "expiry":
            return
        if fate == "void":
            t0 = time.perf_counter()
            try:
                self.ledger.void(hold.hold_id, self.key("void"))
            except errors.LedgerError as exc:
                self.out.fail(f"void: unexpected {exc.code} {exc}")
                return
            self.out.add("void", (time.perf_counter() - t0) * 1000)
            return
        part = amount if fate == "capture" else self.rng.randrange(1, amount + 1)
        key = self.key("capture")

        def capture() -> PostResult:
            c = self.ledger.capture(hold.hold_id, key, None if fate == "capture" else part)
            return PostResult(c.entry_id, c.created, c.recorded_at, c.balances, c.attempts)

        self.timed(fate, capture, key=key, legs=[debit(w, part, cur), credit(m, part, cur)])

    def step(self) -> None:
        fns, weights = zip(*self.ops, strict=True)
        self.rng.choices(fns, weights)[0]()


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    idx = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[idx]


def run_workload(
    ledger: Ledger, sequencer: Ledger, seconds: float, clients: int, console: Console
) -> tuple[Outcomes, float]:
    out = Outcomes()
    run = uuid.uuid4().hex[:8]
    stop = threading.Event()
    errors_seen: list[BaseException] = []

    def worker(n: int) -> None:
        c = Client(ledger, run, n, out, seed=n)
        try:
            while not stop.is_set():
                c.step()
        except BaseException as exc:  # an infrastructure failure ends the demo loudly
            errors_seen.append(exc)
            stop.set()

    def sequence() -> None:
        while not stop.wait(0.1):
            sequencer.sequence_deferred()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    threads.append(threading.Thread(target=sequence, daemon=True))
    t0 = time.monotonic()
    with Progress(
        TextColumn("[bold]payments day"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("run", total=seconds, stats="")
        for t in threads:
            t.start()
        while (elapsed := time.monotonic() - t0) < seconds and not stop.is_set():
            time.sleep(0.25)
            with out.lock:
                done = sum(out.counts.values())
            progress.update(task, completed=min(elapsed, seconds), stats=f"{done} requests, {done / elapsed:,.0f}/s")
        stop.set()
        for t in threads:
            t.join(timeout=60)
        progress.update(task, completed=seconds)
    if errors_seen:
        raise errors_seen[0]
    elapsed = time.monotonic() - t0
    sequencer.drain_deferred()  # fold what is still queued, so statements are complete
    # the sweeper records the expiries of authorisations left alone (reads already treat them as released)
    out.counts["expiry recorded"] += ledger.expire_holds(max_holds=1_000_000)
    return out, elapsed


def print_invariants(report: InvariantReport, who: str, console: Console) -> None:
    """The checker's verdict, one line per invariant, then every finding (at most 50)."""
    console.print(
        f"invariant check (dualbook.tools.certify.check_invariants, as {who}): {report.entries:,} entries, "
        f"{report.accounts:,} accounts; the workload's record: {report.acknowledged:,} acknowledged keys, "
        f"{report.refused:,} refused keys"
    )
    failed = {f.check for f in report.findings}
    for number, text, checks in INVARIANTS:
        mark = "[red]FAIL" if failed & checks else "[green]ok  "
        console.print(f"  {mark}[/] {number}. {text}")
    other = failed.difference(*(checks for _, _, checks in INVARIANTS))
    if other:
        console.print(f"  [red]FAIL[/] other checks: {', '.join(sorted(other))}")
    for f in report.findings[:50]:  # no markup or emoji codes: keys and details are data (``:ghost:`` ...)
        console.print(f"  - {f.check} [{f.book}] {f.subject}: {f.detail}", style="red", markup=False, emoji=False)
    if len(report.findings) > 50:
        console.print(f"[red]  ... and {len(report.findings) - 50} more findings")


def report(ledger: Ledger, reader: Ledger, reader_url: str, out: Outcomes, elapsed: float, console: Console) -> bool:
    """Print the day's figures (the workload's retry counters from `ledger`, the reports read by `reader`) and
    the invariant checker's verdict on the books and on the workload's record (read as the reader, from
    `reader_url`); True when every invariant holds."""
    ok = True
    table = Table(title="requests by outcome")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for kind, n in sorted(out.counts.items()):
        table.add_row(kind, f"{n:,}")
    console.print(table)

    lat = sorted(out.latencies_ms)
    total = len(lat)
    written = sum(n for k, n in out.counts.items() if k in ("top-up", "payment", "refund"))
    console.print(
        f"throughput: {total / elapsed:,.0f} requests/s, {written / elapsed:,.0f} postings/s over {elapsed:.1f} s; "
        f"latency p50 {_percentile(lat, 50):.2f} ms, p99 {_percentile(lat, 99):.2f} ms, "
        f"max {lat[-1] if lat else 0:.2f} ms"
    )
    s = ledger.stats
    console.print(
        f"retries: {s.retries:,} ({s.serialization_failures:,} serialization failures, "
        f"{s.connection_losses:,} lost connections) over {s.calls:,} calls; gave up: {s.gave_up}"
    )
    if ledger.group is not None:
        g = ledger.group.stats
        console.print(
            f"group posting: {g.requests:,} single-entry requests sent in {g.groups:,} post_entries calls "
            f"(mean {g.mean_size:.1f}, largest {g.largest}); {g.split} group(s) split"
        )

    tb = Table(title="trial balance (minor units shown in major units)")
    for col in ("currency", "debits", "credits", "net"):
        tb.add_column(col, justify="right" if col != "currency" else "left")
    for cur, debits, credits, net in reader.trial_balance():
        exp = reader.exponent(cur)
        tb.add_row(cur, format_amount(debits, exp), format_amount(credits, exp), format_amount(net, exp))
        if net != 0:
            ok = False
    console.print(tb)

    with out.lock:
        acknowledged, refused = dict(out.acknowledged), set(out.refused)
    # Not complete: the database may hold earlier runs' entries (the embedded cluster is reused).
    verdict = check_invariants(reader_url, acknowledged, refused=refused)
    print_invariants(verdict, _user(reader_url), console)
    if not verdict.ok:
        ok = False
    for what in out.unexpected[:20]:
        console.print(f"[red]unexpected: {what}")
    if out.unexpected:
        ok = False
    console.print("[bold green]OK: the books balance" if ok else "[bold red]FAILED: an invariant does not hold")
    return ok


#: The certification invariants as the demo prints them, with the checker's finding names that break each one.
INVARIANTS: tuple[tuple[int, str, frozenset[str]], ...] = (
    (
        1,
        "per currency the postings sum to 0, and so does the trial balance",
        frozenset({"currency_sum", "trial_balance"}),
    ),
    (
        2,
        "every account's balance equals the sum of its postings; sequences have no gaps",
        frozenset({"account_balance", "running_balance", "posting_refs", "deferred", "balance_range"}),
    ),
    (3, "every limit holds", frozenset({"limits"})),
    (
        4,
        "each idempotency key maps to one entry; every entry balances",
        frozenset({"idempotency", "entry_balanced", "reversal"}),
    ),
    (
        5,
        "every acknowledged posting exists exactly once as acknowledged; no refused key was posted",
        frozenset({"ack_missing", "ack_duplicate", "ack_mismatch", "unknown_duplicate", "refused_present"}),
    ),
)


def _user(url: str) -> str:
    """The user a URL connects as (libpq's default when it names none)."""
    return str(conninfo_to_dict(url).get("user") or "(libpq default user)")


def run_demo(datadir: Path | None, seconds: float = 20.0, clients: int = 8) -> None:
    target = resolve(datadir, start=True)
    check_connect(target, "migrator")
    console = Console()
    where = f"embedded cluster at {target.embedded.datadir}" if target.embedded else "DATABASE_URL"
    console.print(f"demo: database {target.display_for('migrator')} ({where})")
    console.print(f"demo: deploying the ledger schema with sqitch (verified) as {_user(target.url_for('migrator'))}")
    deployed = migrate.deploy(target.url_for("migrator"), capture=True)
    for line in (deployed.stdout or "").splitlines():
        if line.strip().startswith(("+", "Nothing")):
            console.print(f"  {line.strip()}")
    for purpose in ("app", "sequencer", "reader"):
        check_connect(target, purpose)
    console.print(
        f"demo: the workload connects as {_user(target.url_for('app'))}, the sequencer as "
        f"{_user(target.url_for('sequencer'))}, the report as {_user(target.url_for('reader'))}"
    )
    # Patient retries: the bank and fee accounts take part in most entries (hot rows; see docs/design.md).
    policy = RetryPolicy(max_attempts=50, max_delay=0.05)
    # The clients post one entry at a time, concurrently: group posting sends them as post_entries calls.
    group = GroupPolicy(max_entries=100, max_wait=0.001, writers=2)
    app_url = target.url_for("app")
    with (
        Ledger.connect(app_url, min_size=min(clients, 4), max_size=clients + 3, retry=policy, group=group) as ledger,
        Ledger.connect(target.url_for("sequencer"), max_size=1) as sequencer,
        Ledger.connect(target.url_for("reader"), max_size=2) as reader,
    ):
        t0 = time.monotonic()
        n = setup_chart(ledger)
        console.print(
            f"demo: chart of accounts ready: {n:,} accounts in {', '.join(CURRENCIES)} ({time.monotonic() - t0:.1f} s)"
        )
        out, elapsed = run_workload(ledger, sequencer, seconds, clients, console)
        ok = report(ledger, reader, target.url_for("reader"), out, elapsed, console)
    if target.embedded is not None:
        console.print(f"demo: the cluster keeps running (data: {target.embedded.datadir})")
        console.print("demo: stop it with '.venv/bin/dualbook db stop'")
    if not ok:
        raise click.exceptions.Exit(1)
