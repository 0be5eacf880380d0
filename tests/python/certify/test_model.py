"""Model-based property test: hypothesis drives a RuleBasedStateMachine against a real ledger database, each example
in a fresh book of its own (a database serves a few consecutive examples, then a fresh one is taken), and after
every step the invariant checker (invariants 1-4 over the whole database, 5 for the example's book, whose journal
must be exactly the model's) and a Python model of the books (every account's balance, posting count, status,
limit; the entry count) must agree with the database.

Rules: create accounts (with and without a lower limit of 0, ordinary and deferred ("hot"), and a deferred one with
a limit: LD101), close accounts, post valid and invalid entries (unbalanced, zero amount, one leg, overdraft, unknown
and closed accounts, currency mismatch), replay keys with the same and with a different request, reuse the key of a
refused request, reverse entries (and unknown ones), post batches with ``ledger.post_entries`` (1-30 entries mixing
valid, invalid and replayed ones, duplicate keys inside the batch, several entries on the same accounts, a limited
account drained to its limit and past it in the middle of the batch; per-entry results with ``p_atomic => false``,
all or nothing with ``p_atomic => true``), run the sequencer of deferred accounts (``ledger.sequence_deferred`` with
a small or the default ``p_max``, on its own and inside interleavings), read balances with ``get_balance``,
interleave two or three SERIALIZABLE connections explicitly (their transactions post single entries and now and
then a batch), roll back after a successful post_entry, and terminate a backend in the middle of its transaction
(pg_terminate_backend from another connection).

Deferred accounts: their balance is stored + queued legs at all times, so the model keeps one balance per account
whatever the sequencer did; it also counts each deferred account's queued legs. A sequencer run must fold exactly
min(p_max, legs queued) legs (each example starts with an empty queue); after a run that leaves legs queued (or
runs inside an interleaving, where uncommitted legs are invisible to it) the per-account counts are read back and
must have fallen by exactly the number of legs folded, no account's count rising. books_check (through the
checker) verifies the sequences and running balances it assigned.

Batches: the model processes the entries in order, each seeing the effects of the ones before it (a posted entry
is applied to a copy of the model, a rejected one writes nothing), and predicts every entry's result exactly:
status, entry id of a replay, balances, and a rejection's code and account; an atomic batch that has a failing
entry must raise that entry's error (DETAIL ``entry`` = its position) and leave nothing behind. Inside an
interleaved transaction a batch is predicted like a post (against the committed model plus the transaction's own
earlier entries); its rejected entries leave the transaction usable, a raised error fails it.

How the model stays honest with interleaved transactions. Steps run in a drawn schedule; a step may block on a row
or key lock held by another session, and the schedule then goes on (that session's later steps wait for it, as
its connection runs one statement at a time). Results are compared with the model in the order the steps started:
a post is predicted against the committed model plus its own transaction's earlier entries, and a transaction's
entries are applied to the committed model when its COMMIT succeeds (a COMMIT never waits for a lock). A
serialization failure (40001) or deadlock (40P01) is always accepted, and then nothing of that transaction is
applied. This is sound because everything a posting's outcome depends on (the rows of the accounts it touches, its
key) is read under a row or key lock: a concurrent change to any of them either blocks the posting until the other
transaction ends, or makes it fail with 40001. Interleaved postings therefore carry no balance assertions (those
read an untouched account without a lock), and accounts are neither created nor closed inside an interleaving.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeVar

import psycopg
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from dualbook import BatchResult, Ledger, PostResult, RetryPolicy
from dualbook import errors as E
from dualbook.db.cluster import Cluster
from dualbook.tools.certify import (
    Certification,
    InvariantViolation,
    LegTuple,
    ScenarioRow,
    check_invariants,
)

from .conftest import DatabaseFactory
from .model import Account, Books, Entry, Outcome, Refusal, Request
from .profile import PROFILE
from .sessions import HANG_SECONDS, SKIPPED, Session, Step, run_step, terminate, wait_done_or_blocked

CODES = ("bank", "cash", "fees", "w:1", "w:2", "w:3", "w:4", "x")
TYPES = ("asset", "liability", "equity", "income", "expense")
CURRENCIES = ("USD", "USD", "EUR")
DESCRIPTIONS = (None, "invoice", "refund")
REASONS = (None, "mistake")
INVALID_KINDS = ("unbalanced", "zero", "one_leg", "overdraft", "unknown", "closed", "mismatch")
#: what one entry of a post_entries batch is (weights by repetition)
BATCH_KINDS = (
    ("valid",) * 6
    + ("invalid",) * 2
    + ("spend",) * 2
    + ("replay", "replay_different", "duplicate", "duplicate_different", "refused_key")
)
SEQUENCER_MAX = st.sampled_from([1, 2, 3, 5, 10_000])
INDEX = st.integers(0, 2**16 - 1)  # an index into a list of the model's, taken modulo its length
LIMITS = st.sampled_from([None, 0])
PHASES_NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.explain]
T = TypeVar("T")
ACCOUNT_ERRORS = frozenset({"LD201", "LD202", "LD107", "LD203"})


@dataclass
class ModelStats:
    examples: int = 0
    steps: int = 0
    transactions: int = 0
    committed_entries: int = 0
    replays: int = 0
    interleavings: int = 0
    serialization_failures: int = 0
    terminations: int = 0
    rollbacks: int = 0
    blocked_steps: int = 0
    deferred_accounts: int = 0
    sequencer_runs: int = 0
    legs_folded: int = 0
    balance_reads: int = 0
    batches: int = 0
    atomic_batches: int = 0
    interleaved_batches: int = 0
    atomic_batches_refused: int = 0
    batch_entries: int = 0
    batch_results: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    recorded_refusals: int = 0
    refusal_replays: int = 0


@dataclass
class TxState:
    pending: list[Entry | Refusal] = field(default_factory=list)
    failed: bool = False
    dead: bool = False


def pick(seq: Sequence[T], i: int) -> T:
    return seq[i % len(seq)]


def legs_json(legs: tuple[LegTuple, ...]) -> list[dict[str, Any]]:
    return [{"account": a, "amount": n, "currency": c} for a, n, c in legs]


#: one entry of a post_entries batch: (key, legs, description)
BatchEntry = tuple[str, tuple[LegTuple, ...], str | None]


def batch_json(batch: list[BatchEntry]) -> list[dict[str, Any]]:
    payload: list[dict[str, Any]] = []
    for key, legs, description in batch:
        entry: dict[str, Any] = {"key": key, "legs": legs_json(legs)}
        if description is not None:
            entry["description"] = description
        payload.append(entry)
    return payload


def predict_batch(base: Books, batch: list[BatchEntry], atomic: bool) -> list[Outcome]:
    """The model's outcome of each entry, in order, each seeing the ones before it (an atomic batch stops at its
    first failing entry). A replay of an entry posted earlier in the batch names it by -(its position)."""
    view = base.copy()
    outcomes: list[Outcome] = []
    for idx, (key, legs, description) in enumerate(batch, start=1):
        outcome = view.predict_post(key, legs, description)
        outcomes.append(outcome)
        if outcome.error is None and outcome.replay_of is None:
            view.apply(Entry(-idx, key, legs, ("post", legs, description), None, dict(outcome.balances)))
        if atomic and outcome.error is not None:
            break
        refusal = view.refusal(key, ("post", legs, description), outcome)
        if refusal is not None:  # a later entry of the batch with the key gets it again
            view.apply(refusal)
    return outcomes


@dataclass
class DbSlot:
    """A ledger database shared by consecutive examples, each in a book of its own (creating a database per
    example costs more than the example). ``entries``: what earlier examples left in it, all verified."""

    url: str
    entries: int = 0


class Slots:
    def __init__(self, factory: DatabaseFactory, max_entries: int = 250) -> None:
        self.factory = factory
        self.max_entries = max_entries
        self.spare: DbSlot | None = None
        self.databases = 0

    def take(self) -> DbSlot:
        slot, self.spare = self.spare, None
        if slot is None:
            slot = DbSlot(self.factory.take())
            self.databases += 1
        return slot

    def give_back(self, slot: DbSlot, sound: bool) -> None:
        """Reuse a database while it is small and sound; anything else goes (a failed example's leftovers must
        not confuse the next one)."""
        if sound and slot.entries < self.max_entries:
            self.spare = slot
        else:
            self.factory.release(slot.url)

    def close(self) -> None:
        if self.spare is not None:
            self.factory.release(self.spare.url)
            self.spare = None


class LedgerMachine(RuleBasedStateMachine):
    slots: ClassVar[Slots]
    row: ClassVar[ScenarioRow]
    stats: ClassVar[ModelStats]
    books_made: ClassVar[Iterator[int]] = itertools.count(1)

    def __init__(self) -> None:
        super().__init__()
        self.slot = self.slots.take()
        self.url = self.slot.url
        self.book = f"b{next(self.books_made)}"
        self.stats.examples += 1
        # No retries: nothing runs concurrently with a single call, so a retry would hide a surprise.
        self.ledger = Ledger.connect(
            self.url, min_size=1, max_size=1, book=self.book, retry=RetryPolicy(max_attempts=1)
        )
        self.ledger.pool.wait()
        self.ledger.create_book(self.book)
        self.stats.transactions += 1
        self.monitor = psycopg.connect(self.url, autocommit=True)
        self.books = Books()
        self.sessions: list[Session] = []
        self.refused_keys: list[tuple[str, Request]] = []
        self.keys = itertools.count(1)
        self.next_session = itertools.count(1)
        self.sequencer: Session | None = None  # the READ COMMITTED session of interleaved sequencer runs
        self.folded = 0  # legs folded by the sequencer runs of the current interleaving
        # The sequencer folds legs of every book: start with an empty queue (an earlier example in this database
        # may have left legs queued), so that the number a run folds is the model's to predict.
        self.ledger.drain_deferred()
        self.stats.transactions += 1

    def teardown(self) -> None:
        for s in self.sessions:
            if s.busy():  # a failed example may leave a statement waiting on a lock
                terminate(self.monitor, s)
            s.close()
        if self.sequencer is not None:
            if self.sequencer.busy():
                terminate(self.monitor, self.sequencer)
            self.sequencer.close()
        self.ledger.close()
        try:
            sound = self.agree() is None
        except Exception:
            sound = False
        self.monitor.close()
        self.slot.entries += len(self.books.entries)
        self.slots.give_back(self.slot, sound)

    # --- helpers -------------------------------------------------------------------------------------
    def fail(self, message: str) -> None:
        self.row.drift += 1
        raise AssertionError(f"model and database disagree: {message}")

    def new_key(self) -> str:
        return f"{self.book}:k{next(self.keys)}"

    def open_accounts(self, currency: str | None = None, books: Books | None = None) -> list[Account]:
        return [
            a
            for a in sorted((books or self.books).accounts.values(), key=lambda a: a.code)
            if a.status == "open" and (currency is None or a.currency == currency)
        ]

    def check_error(self, what: str, outcome: Outcome, exc: E.LedgerError) -> None:
        if outcome.error != exc.code:
            self.fail(f"{what}: model predicted {outcome.describe()}, database raised {exc.code} {exc}")
        if outcome.recorded != exc.recorded:
            self.fail(f"{what}: model predicted {outcome.describe()}, database {exc.code} recorded={exc.recorded}")
        if outcome.error in ACCOUNT_ERRORS and exc.account != outcome.account:
            self.fail(f"{what}: {exc.code} on {exc.account}, model says on {outcome.account}")
        if outcome.error == "LD205" and exc.context.get("entry_id") != outcome.replay_of:
            self.fail(f"{what}: LD205 names entry {exc.context.get('entry_id')}, model {outcome.replay_of}")
        for k, v in outcome.detail.items():
            if k in exc.context and exc.context[k] != v:
                self.fail(f"{what}: {exc.code} DETAIL {k}={exc.context[k]!r}, model {v!r}")
        self.stats.refusals[outcome.error] += 1
        self.stats.recorded_refusals += outcome.recorded and not outcome.refusal_replay
        self.stats.refusal_replays += outcome.refusal_replay

    def check_success(self, what: str, outcome: Outcome, r: PostResult) -> None:
        if outcome.error is not None:
            self.fail(f"{what}: model predicted {outcome.describe()}, database posted entry {r.entry_id}")
        if outcome.replay_of is not None:
            if r.created or r.entry_id != outcome.replay_of:
                self.fail(f"{what}: expected a replay of entry {outcome.replay_of}, got {r}")
            self.stats.replays += 1
        elif not r.created:
            self.fail(f"{what}: model expected a new entry, database says replay of {r.entry_id}")
        if r.balances != outcome.balances:
            self.fail(f"{what}: balances {r.balances}, model {outcome.balances}")

    def call_post(self, key: str, legs: tuple[LegTuple, ...], description: str | None) -> None:
        outcome = self.books.predict_post(key, legs, description)
        self.stats.transactions += 1
        what = f"post_entry({key!r}, {list(legs)}, {description!r})"
        try:
            r = self.ledger.post_entry(key, legs_json(legs), description=description)
        except E.LedgerError as exc:
            self.check_error(what, outcome, exc)
            self.refused_keys.append((key, ("post", legs, description)))
            refusal = self.books.refusal(key, ("post", legs, description), outcome)
            if refusal is not None:
                self.books.apply(refusal)
            return
        self.check_success(what, outcome, r)
        if r.created:
            self.books.apply(Entry(r.entry_id, key, legs, ("post", legs, description), None, dict(r.balances)))
            self.stats.committed_entries += 1

    def call_reverse(self, entry_id: int, key: str, reason: str | None) -> None:
        outcome = self.books.predict_reverse(entry_id, key, reason)
        self.stats.transactions += 1
        what = f"reverse_entry({entry_id}, {key!r}, {reason!r})"
        try:
            r = self.ledger.reverse_entry(entry_id, key, reason=reason)
        except E.LedgerError as exc:
            self.check_error(what, outcome, exc)  # for LD209 also the entry it names (detail reversed_by)
            refusal = self.books.refusal(key, ("reverse", entry_id, reason), outcome)
            if refusal is not None:
                self.books.apply(refusal)
            return
        self.check_success(what, outcome, r)
        if r.created:
            request = ("reverse", entry_id, reason)
            self.books.apply(Entry(r.entry_id, key, outcome.legs, request, entry_id, dict(r.balances)))
            self.stats.committed_entries += 1

    # --- drawing requests ------------------------------------------------------------------------------
    # The choices a rule draws never depend on the model's state, only on earlier choices: the state depends on
    # the database's decisions about interleaved transactions (a 40001 or not), which vary from run to run, and
    # hypothesis requires the same choices to be drawn the same way. A choice among the model's accounts or keys
    # is therefore an index drawn from a fixed range and taken modulo the length of the list.
    def draw_valid_legs(self, data: st.DataObject, books: Books | None = None) -> tuple[LegTuple, ...]:
        c = data.draw(INDEX)
        n = data.draw(st.integers(2, 3))
        picks = [data.draw(INDEX) for _ in range(3)]
        amounts = [data.draw(st.integers(-500, 500).filter(bool)) for _ in range(2)]
        by_currency: dict[str, list[str]] = {}
        for a in self.open_accounts(books=books):
            by_currency.setdefault(a.currency, []).append(a.code)
        usable = sorted(cur for cur, accs in by_currency.items() if len(accs) >= 2)
        if not usable:  # nothing valid is possible yet: whatever the model says will happen
            a, b = pick(CODES, picks[0]), pick(CODES, picks[1])
            return ((a, abs(amounts[0]), "USD"), (b, -abs(amounts[0]), "USD"))
        currency = pick(usable, c)
        accounts = by_currency[currency]
        codes = [pick(accounts, i) for i in picks[:n]]
        if len(set(codes)) == 1:
            codes[-1] = next(a for a in accounts if a != codes[0])
        legs_amounts = amounts[: n - 1]
        last = -sum(legs_amounts)
        if last == 0:
            legs_amounts[0] += 1
            last = -1
        legs_amounts.append(last)
        return tuple((code, amount, currency) for code, amount in zip(codes, legs_amounts, strict=True))

    def draw_invalid_legs(
        self, data: st.DataObject, kind: str, books: Books | None = None, excess: int | None = None
    ) -> tuple[LegTuple, ...]:
        """Legs that break one rule (``kind``). ``excess``: for an overdraft, how far below the limit (0 or less:
        a spend that stays within it)."""
        books = books or self.books
        legs = list(self.draw_valid_legs(data, books))
        i = data.draw(INDEX)
        delta = data.draw(st.sampled_from([-2, -1, 1, 3]))
        drawn_excess = data.draw(st.integers(1, 100))
        excess = drawn_excess if excess is None else excess
        if kind == "unbalanced":
            a, n, c = legs[0]
            legs[0] = (a, n + delta if n + delta != 0 else n + 2 * delta, c)
        elif kind == "zero":
            a, _, c = legs[0]
            legs.append((a, 0, c))
        elif kind == "one_leg":
            legs = legs[:1]
        elif kind == "overdraft":
            limited = [a for a in self.open_accounts(books=books) if a.lower_limit is not None]
            if limited:
                acc = pick(limited, i)
                others = [a for a in self.open_accounts(acc.currency, books) if a.code != acc.code]
                out = acc.balance + excess  # take the normal balance below 0
                if out == 0:  # a spend of nothing would be a zero amount: spend one more
                    out = 1
                amount = out if acc.type in ("asset", "expense") else -out
                other = others[0].code if others else pick(CODES, i)
                legs = [(acc.code, -amount, acc.currency), (other, amount, acc.currency)]
        elif kind == "unknown":
            ghosts = [c for c in CODES if c not in books.accounts] or ["ghost:1"]
            a, n, c = legs[-1]
            legs[-1] = (pick(ghosts, i), n, c)
        elif kind == "closed":
            closed = sorted((a for a in books.accounts.values() if a.status == "closed"), key=lambda a: a.code)
            if closed:
                acc = pick(closed, i)
                a, n, _ = legs[-1]
                legs = [(x, y, acc.currency) for x, y, _ in legs[:-1]] + [(acc.code, n, acc.currency)]
        elif kind == "mismatch":
            other = "EUR" if legs[0][2] == "USD" else "USD"
            legs = [(x, y, other) for x, y, _ in legs]
        return tuple(legs)

    def draw_post(self, data: st.DataObject) -> tuple[str, tuple[LegTuple, ...], str | None]:
        """A request for an interleaved transaction: mostly valid, sometimes invalid, sometimes the retry of a
        refused request (a recorded refusal, replayed while other transactions move the balances)."""
        retry, i = data.draw(st.integers(0, 5)), data.draw(INDEX)
        if retry == 0 and self.refused_keys:
            key, (_, legs, description) = pick(self.refused_keys, i)
            return key, legs, description
        if data.draw(st.integers(0, 4)) == 0:
            legs = self.draw_invalid_legs(data, data.draw(st.sampled_from(INVALID_KINDS)))
        else:
            legs = self.draw_valid_legs(data)
        return self.new_key(), legs, data.draw(st.sampled_from(DESCRIPTIONS))

    # --- rules: accounts ------------------------------------------------------------------------------
    @initialize(data=st.data())
    def open_books(self, data: st.DataObject) -> None:
        """Start with a few accounts (two of them in USD) so that most drawn entries can be valid; about one in four
        is deferred (a deferred account has no limit)."""
        n = data.draw(st.integers(2, 5))
        codes = data.draw(st.permutations(CODES))
        attributes = [
            (
                data.draw(st.sampled_from(CURRENCIES)),
                data.draw(st.sampled_from(TYPES)),
                data.draw(LIMITS),
                data.draw(st.integers(0, 3)) == 0,
            )
            for _ in range(5)
        ]
        for i, (code, (currency, typ, lower, deferred)) in enumerate(zip(codes[:n], attributes, strict=False)):
            self.create(code, "USD" if i < 2 else currency, typ, None if deferred else lower, deferred)

    @rule(
        code=st.sampled_from(CODES),
        same=st.booleans(),
        currency=st.sampled_from(CURRENCIES),
        typ=st.sampled_from(TYPES),
        lower=LIMITS,
        deferred=st.sampled_from(["no", "no", "yes", "yes", "with_limit"]),
    )
    def create_account(self, code: str, same: bool, currency: str, typ: str, lower: int | None, deferred: str) -> None:
        """A new account (deferred ones without a limit, but now and then with one: LD101), or an existing code
        again with the same attributes (idempotent, or LD202 if closed) or other ones (LD206)."""
        is_deferred = deferred != "no"
        if deferred == "yes":
            lower = None
        existing = self.books.accounts.get(code)
        if existing is not None and same:  # the same attributes again: idempotent (or LD202 if closed)
            currency, typ, lower, is_deferred = (
                existing.currency,
                existing.type,
                existing.lower_limit,
                existing.deferred,
            )
        self.create(code, currency, typ, lower, is_deferred)

    def create(self, code: str, currency: str, typ: str, lower: int | None, deferred: bool = False) -> None:
        expected = self.books.predict_create(code, currency, typ, lower, deferred)
        self.stats.transactions += 1
        what = f"create_account({code!r}, {currency}, {typ}, lower_limit={lower}, deferred={deferred})"
        try:
            r = self.ledger.create_account(code, currency, typ, lower_limit=lower, deferred=deferred)
        except E.LedgerError as exc:
            if exc.code != expected:
                self.fail(f"{what}: model {expected}, database raised {exc.code} {exc}")
            self.stats.refusals[expected] += 1
            return
        if expected == "created" and r.created:
            self.books.accounts[code] = Account(code, currency, typ, lower, r.account_id, deferred=deferred)
            self.stats.deferred_accounts += deferred
        elif expected == "exists" and not r.created:
            if r.account_id != self.books.accounts[code].account_id:
                self.fail(f"{what}: returned account {r.account_id}, model {self.books.accounts[code].account_id}")
        else:
            self.fail(f"{what}: model {expected}, database created={r.created}")

    @rule(zero_balance=st.booleans(), i=INDEX, code=st.sampled_from(CODES))
    def close_account(self, zero_balance: bool, i: int, code: str) -> None:
        """Close an account at zero balance (or try to close one that is not); while fewer than four accounts are
        open, close a code that does not exist instead, so that postings keep finding open accounts."""
        zero = [a.code for a in self.open_accounts() if a.debit == 0]
        if len(self.open_accounts()) < 4:
            code = next((c for c in CODES if c not in self.books.accounts), "ghost:1")
        elif zero and zero_balance:
            code = pick(zero, i)
        expected = self.books.predict_close(code)
        self.stats.transactions += 1
        what = f"close_account({code!r})"
        try:
            closed_at = self.ledger.close_account(code)
        except E.LedgerError as exc:
            if exc.code != expected:
                self.fail(f"{what}: model {expected}, database raised {exc.code} {exc}")
            self.stats.refusals[expected] += 1
            return
        acc = self.books.accounts.get(code)
        if expected == "closed" and acc is not None:
            acc.status, acc.closed_at = "closed", closed_at
        elif expected == "already" and acc is not None:
            if closed_at != acc.closed_at:
                self.fail(f"{what}: closing again returned {closed_at}, first close {acc.closed_at}")
        else:
            self.fail(f"{what}: model {expected}, database closed it at {closed_at}")

    # --- rules: single postings -----------------------------------------------------------------------
    @rule(data=st.data())
    def post_valid(self, data: st.DataObject) -> None:
        self.call_post(self.new_key(), self.draw_valid_legs(data), data.draw(st.sampled_from(DESCRIPTIONS)))

    @rule(data=st.data(), n=st.integers(2, 20))
    def post_batch(self, data: st.DataObject, n: int) -> None:
        """Several valid postings in a row, each in its own transaction."""
        for _ in range(n):
            self.post_valid(data)

    @rule(data=st.data(), kind=st.sampled_from(INVALID_KINDS))
    def post_invalid(self, data: st.DataObject, kind: str) -> None:
        self.call_post(self.new_key(), self.draw_invalid_legs(data, kind), data.draw(st.sampled_from(DESCRIPTIONS)))

    @rule(data=st.data(), i=INDEX)
    def replay_same_request(self, data: st.DataObject, i: int) -> None:
        """Send a posted key's request again (before anything is posted: a new valid posting)."""
        legs = self.draw_valid_legs(data)
        if not self.books.keys:
            self.call_post(self.new_key(), legs, None)
            return
        key = pick(sorted(self.books.keys), i)
        request = self.books.entries[self.books.keys[key]].request
        if request[0] == "post":
            self.call_post(key, request[1], request[2])
        else:
            self.call_reverse(request[1], key, request[2])

    @rule(
        data=st.data(),
        i=INDEX,
        j=INDEX,
        change=st.sampled_from(["description", "amount", "order", "as_reversal"]),
    )
    def replay_different_request(self, data: st.DataObject, i: int, j: int, change: str) -> None:
        """Reuse a posted key for another request (before anything is posted: a new valid posting)."""
        fresh = self.draw_valid_legs(data)
        if not self.books.keys:
            self.call_post(self.new_key(), fresh, None)
            return
        key = pick(sorted(self.books.keys), i)
        entry = self.books.entries[self.books.keys[key]]
        legs = list(entry.legs)
        description = entry.request[2] if entry.request[0] == "post" else None
        if change == "as_reversal":
            self.call_reverse(pick(sorted(self.books.entries), j), key, "other")
            return
        if change == "description":
            description = "changed" if description != "changed" else None
        elif change == "amount":
            (a0, n0, c0), (a1, n1, c1) = legs[0], legs[1]
            if c0 == c1 and n0 + 1 != 0 and n1 - 1 != 0:
                legs[0], legs[1] = (a0, n0 + 1, c0), (a1, n1 - 1, c1)
            else:
                description = "changed"
        elif change == "order":
            legs.reverse()
            if tuple(legs) == entry.legs:
                description = "changed"
        self.call_post(key, tuple(legs), description)

    @rule(i=INDEX)
    def retry_refused_request(self, i: int) -> None:
        """The same request again under a refused key (a queue redelivery): a recorded refusal is returned
        again, whatever the balances are now; a validation error is raised again."""
        if self.refused_keys:
            key, (_, legs, description) = pick(self.refused_keys, i)
            self.call_post(key, legs, description)

    @rule(data=st.data(), i=INDEX)
    def reuse_refused_key(self, data: st.DataObject, i: int) -> None:
        """A new (valid) request under a refused key: free after a validation error (LD1xx), LD205 after a
        recorded refusal (docs/sql-api.md §1.6)."""
        legs = self.draw_valid_legs(data)
        key = pick(self.refused_keys, i)[0] if self.refused_keys else self.new_key()
        self.call_post(key, legs, None)

    @rule(
        known=st.integers(0, 9),
        i=INDEX,
        unknown_offset=st.integers(1, 1000),
        reuse_key=st.integers(0, 9),
        j=INDEX,
        reason=st.sampled_from(REASONS),
    )
    def reverse(self, known: int, i: int, unknown_offset: int, reuse_key: int, j: int, reason: str | None) -> None:
        """Reverse a posted entry (one time in ten an unknown one: LD208; one time in ten with a used key)."""
        ids = sorted(self.books.entries)
        entry_id = pick(ids, i) if ids and known > 0 else (max(ids) if ids else 0) + unknown_offset
        key = pick(sorted(self.books.keys), j) if ids and reuse_key == 0 else self.new_key()
        self.call_reverse(entry_id, key, reason)

    # --- rules: deferred accounts --------------------------------------------------------------------------
    @rule(max_legs=SEQUENCER_MAX, i=INDEX, code=st.sampled_from(CODES))
    def run_sequencer(self, max_legs: int, i: int, code: str) -> None:
        """One sequencer run (READ COMMITTED, its own transaction): it folds exactly min(p_max, queued) legs; then
        a balance read through get_balance (one rule, not two: every rule costs a step and its invariant check)."""
        self.sequence(max_legs)
        self.read_balance(i, code)

    def sequence(self, max_legs: int) -> None:
        queued = self.books.queued()
        self.stats.transactions += 1
        self.stats.sequencer_runs += 1
        n = self.ledger.sequence_deferred(max_legs)
        if n != min(max_legs, queued):
            self.fail(f"sequence_deferred({max_legs}) folded {n} legs, model: {min(max_legs, queued)} of {queued}")
        self.stats.legs_folded += n
        if n == queued:
            for acc in self.books.accounts.values():
                acc.queued = 0
        else:
            self.resync_queue(n, f"sequence_deferred({max_legs})")

    def resync_queue(self, folded: int, what: str) -> None:
        """After a run that left legs queued, or runs the model cannot order (interleaved with postings): each
        deferred account's queued count may only have fallen, by ``folded`` legs in all; the model takes them."""
        rows = dict(
            self.monitor.execute(
                "SELECT code, queued FROM ledger.accounts WHERE book = %s AND deferred", (self.book,)
            ).fetchall()
        )
        fell = 0
        for code, acc in sorted(self.books.accounts.items()):
            if not acc.deferred:
                continue
            now = rows.get(code)
            if now is None or now > acc.queued:
                self.fail(f"{what}: {code} has {now} legs queued, the model {acc.queued} before the run")
            fell += acc.queued - int(now)
            acc.queued = int(now)
        if fell != folded:
            self.fail(f"{what}: queued legs fell by {fell}, but the runs folded {folded}")

    def read_balance(self, i: int, code: str) -> None:
        """get_balance: a deferred account's balance is stored + queued (exact at all times), its seq counts every
        leg; mostly a deferred account of the model, sometimes any code (LD201 if unknown)."""
        deferred = sorted(c for c, a in self.books.accounts.items() if a.deferred)
        if deferred and i % 4:
            code = pick(deferred, i)
        acc = self.books.accounts.get(code)
        self.stats.balance_reads += 1
        try:
            b = self.ledger.get_balance(code)
        except E.LedgerError as exc:
            if acc is not None or exc.code != "LD201":
                self.fail(f"get_balance({code!r}): {exc.code} {exc}")
            return
        if acc is None:
            self.fail(f"get_balance({code!r}): the model has no such account, the database says {b}")
            return
        got = (b.account_id, b.balance, b.seq, b.status, b.lower_limit)
        want = (acc.account_id, acc.balance, acc.seq, acc.status, acc.lower_limit)
        if got != want:
            self.fail(f"get_balance({code!r}): (id, balance, seq, status, lower) {got}, model {want}")

    # --- rules: batches (ledger.post_entries) --------------------------------------------------------------
    def draw_batch_entry(
        self,
        data: st.DataObject,
        view: Books,
        batch: list[tuple[str, tuple[LegTuple, ...], str | None]],
        clean: bool,
    ) -> tuple[str, tuple[LegTuple, ...], str | None]:
        """One entry of a batch, drawn against ``view`` (the model with the batch's earlier entries applied as
        the model predicts them). The draws are the same whatever the state (see draw_valid_legs). ``clean``: an
        entry the model expects to succeed where it can find one (so that atomic batches do not almost always
        fail): a new valid entry, else its legs negated, else a replay."""
        entry = self.draw_batch_entry_of_kind(data, view, batch)
        valid = self.draw_valid_legs(data, view)  # drawn whether needed or not: the draws must not depend on state
        if not clean or view.predict_post(*entry).error is None:
            return entry
        key, _, description = entry
        if key in view.keys or any(key == k for k, _, _ in batch):
            key = self.new_key()
        for candidate in (valid, tuple((a, -n, c) for a, n, c in valid)):
            if view.predict_post(key, candidate, description).error is None:
                return key, candidate, description
        posted = sorted(k for k, e in view.keys.items() if view.entries[e].request[0] == "post")
        if posted:
            request = view.entries[view.keys[pick(posted, len(batch))]].request
            return pick(posted, len(batch)), request[1], request[2]
        return key, valid, description

    def draw_batch_entry_of_kind(
        self, data: st.DataObject, view: Books, batch: list[tuple[str, tuple[LegTuple, ...], str | None]]
    ) -> tuple[str, tuple[LegTuple, ...], str | None]:
        kind = data.draw(st.sampled_from(BATCH_KINDS))
        i = data.draw(INDEX)
        excess = data.draw(st.integers(-1, 1))
        description = data.draw(st.sampled_from(DESCRIPTIONS))
        valid = self.draw_valid_legs(data, view)
        invalid = self.draw_invalid_legs(data, data.draw(st.sampled_from(INVALID_KINDS)), view)
        spend = self.draw_invalid_legs(data, "overdraft", view, excess=excess)
        if kind == "invalid":
            return self.new_key(), invalid, description
        if kind == "spend":  # a limited account to its limit, one below it or one past it (LD203)
            return self.new_key(), spend, description
        if kind in ("replay", "replay_different") and view.keys:
            key = pick(sorted(view.keys), i)
            request = view.entries[view.keys[key]].request
            legs, desc = (request[1], request[2]) if request[0] == "post" else (valid, None)
            if kind == "replay_different":
                desc = "changed" if desc != "changed" else None
            return key, legs, desc
        if kind in ("duplicate", "duplicate_different") and batch:
            key, legs, desc = pick(batch, i)
            if kind == "duplicate_different":
                legs = valid if legs != valid else legs
                desc = "changed" if desc != "changed" else None
            return key, legs, desc
        if kind == "refused_key" and self.refused_keys:
            return pick(self.refused_keys, i)[0], valid, description
        return self.new_key(), valid, description

    @rule(data=st.data(), n=st.integers(1, 30), atomic=st.booleans(), clean=st.sampled_from([False, True, True]))
    def post_entries(self, data: st.DataObject, n: int, atomic: bool, clean: bool) -> None:
        """A batch of 1-30 entries, each one of BATCH_KINDS; an atomic batch is mostly ``clean`` (every entry
        expected to succeed, so that it posts), sometimes not (it fails whole, at a point in the middle)."""
        view = self.books.copy()
        batch: list[tuple[str, tuple[LegTuple, ...], str | None]] = []
        for k in range(n):
            key, legs, description = self.draw_batch_entry(data, view, batch, clean and atomic)
            batch.append((key, legs, description))
            outcome = view.predict_post(key, legs, description)
            if outcome.error is None and outcome.replay_of is None:  # so that later draws see it (an id of its own)
                view.apply(Entry(-(k + 1), key, legs, ("post", legs, description), None, dict(outcome.balances)))
        self.call_post_entries(batch, atomic)

    def call_post_entries(self, batch: list[BatchEntry], atomic: bool) -> None:
        self.stats.transactions += 1
        self.count_batch(batch, atomic)
        what = f"post_entries(atomic={atomic}, {len(batch)} entries)"
        outcomes = predict_batch(self.books, batch, atomic)
        try:
            results = self.ledger.post_entries(batch_json(batch), atomic=atomic)
        except E.LedgerError as exc:
            self.check_batch_error(what, self.books, batch, outcomes, atomic, exc)
            return
        for entry in self.check_batch_results(what, batch, outcomes, atomic, results):
            self.books.apply(entry)
            self.stats.committed_entries += isinstance(entry, Entry)

    def count_batch(self, batch: list[BatchEntry], atomic: bool) -> None:
        self.stats.batches += 1
        self.stats.atomic_batches += atomic
        self.stats.batch_entries += len(batch)

    def check_batch_error(
        self,
        what: str,
        base: Books,
        batch: list[BatchEntry],
        outcomes: list[Outcome],
        atomic: bool,
        exc: E.LedgerError,
    ) -> None:
        """The batch raised: only an atomic batch with a failing entry may, with that entry's error."""
        failing = next((i for i, o in enumerate(outcomes, start=1) if o.error is not None), None)
        if not atomic or failing is None:
            self.fail(f"{what}: raised {exc.code} {exc}, model: {[o.describe() for o in outcomes]}")
            return
        outcome = outcomes[failing - 1]
        if outcome.replay_of is not None and outcome.replay_of < 0:
            # LD205 on a key posted earlier in this batch: that entry's id was rolled back with the batch
            entry_id = exc.context.get("entry_id")
            if not isinstance(entry_id, int) or entry_id <= max(base.entries, default=0):
                self.fail(f"{what}: LD205 names entry {entry_id}, not one posted earlier in this batch")
            outcome = replace(outcome, replay_of=entry_id)
        # an atomic batch raises its first refusal and records nothing (it rolls back whole)
        outcome = replace(outcome, recorded=False)
        self.check_error(f"{what} entry {failing}", outcome, exc)
        if exc.context.get("entry") != failing:
            self.fail(f"{what}: the error names entry {exc.context.get('entry')}, the model entry {failing}")
        self.stats.atomic_batches_refused += 1
        self.refused_keys.extend((key, ("post", legs, d)) for key, legs, d in batch)

    def check_batch_results(
        self,
        what: str,
        batch: list[BatchEntry],
        outcomes: list[Outcome],
        atomic: bool,
        results: list[BatchResult],
    ) -> list[Entry | Refusal]:
        """Compare every row with the model's prediction; returns the entries and refusals the batch wrote."""
        failing = next((i for i, o in enumerate(outcomes, start=1) if o.error is not None), None)
        if atomic and failing is not None:
            self.fail(f"{what}: posted, but the model predicted entry {failing}: {outcomes[failing - 1].describe()}")
        if len(results) != len(batch):
            self.fail(f"{what}: {len(results)} results for {len(batch)} entries")
        written: list[Entry | Refusal] = []
        ids: dict[str, int] = {}  # key -> entry id, of the entries this batch wrote
        for idx, ((key, legs, description), outcome, res) in enumerate(
            zip(batch, outcomes, results, strict=True), start=1
        ):
            where = f"{what} entry {idx} {key!r} {list(legs)} {description!r}"
            if res.idx != idx:
                self.fail(f"{where}: result idx {res.idx}")
            self.stats.batch_results[res.status] += 1
            if outcome.replay_of is not None and outcome.replay_of < 0:  # a key posted earlier in this batch
                outcome = replace(outcome, replay_of=ids[key])
            if outcome.error is not None:
                error = res.error
                status = "refused" if outcome.recorded else "rejected"
                created = (not outcome.refusal_replay) if outcome.recorded else None
                if res.status != status or error is None or res.entry_id is not None or res.created is not created:
                    self.fail(f"{where}: model predicted {outcome.describe()}, database {res}")
                    return written
                self.check_error(where, outcome, error)
                self.refused_keys.append((key, ("post", legs, description)))
                refusal = self.books.refusal(key, ("post", legs, description), outcome)
                if refusal is not None:
                    written.append(refusal)
                continue
            if res.error_code is not None or res.status != ("replayed" if outcome.replay_of is not None else "posted"):
                self.fail(f"{where}: model predicted {outcome.describe()}, database {res}")
            assert res.entry_id is not None and res.created is not None
            self.check_success(
                where, outcome, PostResult(res.entry_id, res.created, res.recorded_at, res.balances or {})
            )
            if res.created:
                written.append(
                    Entry(res.entry_id, key, legs, ("post", legs, description), None, dict(res.balances or {}))
                )
                ids[key] = res.entry_id
        return written

    # --- rules: interleaved transactions ----------------------------------------------------------------
    @rule(data=st.data())
    def interleave(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(2, 3), label="sessions")
        plans: list[list[Step]] = []
        used: list[tuple[str, tuple[LegTuple, ...], str | None]] = []
        for s in range(n):
            plan = [Step(s, "begin", (data.draw(st.booleans()),))]
            for _ in range(data.draw(st.integers(1, 3))):
                if data.draw(st.integers(0, 4)) == 0:  # a post_entries batch inside the transaction
                    batch: list[BatchEntry] = []
                    view = self.books.copy()
                    for _ in range(data.draw(st.integers(1, 8))):
                        batch.append(self.draw_batch_entry(data, view, batch, clean=False))
                    atomic = data.draw(st.booleans())
                    plan.append(Step(s, "batch", (batch_json(batch), atomic), meta=batch))
                    continue
                key, legs, description = self.draw_post(data)
                if used and data.draw(st.integers(0, 4)) == 0:  # the same key in two sessions
                    other = data.draw(st.sampled_from(used))
                    key = other[0]
                    if data.draw(st.booleans()):
                        legs, description = other[1], other[2]
                used.append((key, legs, description))
                plan.append(Step(s, "post", (key, legs_json(legs), description)))
            plan.append(Step(s, data.draw(st.sampled_from(["commit", "commit", "commit", "rollback", "terminate"]))))
            plans.append(plan)
        # now and then the sequencer runs in between (READ COMMITTED: it folds only committed legs)
        plans.append([Step(n, "sequence", (data.draw(SEQUENCER_MAX),)) for _ in range(data.draw(st.integers(0, 2)))])
        schedule: list[Step] = []
        while any(plans):
            i = data.draw(st.sampled_from([i for i, p in enumerate(plans) if p]))
            schedule.append(plans[i].pop(0))
        self.run_schedule(n, schedule)

    @rule(data=st.data())
    def interleave_classic(self, data: st.DataObject) -> None:
        """Begin on A, post on B, commit B, post on A, commit A."""
        a_key, a_legs, a_desc = self.draw_post(data)
        b_key, b_legs, b_desc = self.draw_post(data)
        self.run_schedule(
            2,
            [
                Step(0, "begin", (True,)),
                Step(1, "begin", (False,)),
                Step(1, "post", (b_key, legs_json(b_legs), b_desc)),
                Step(1, "commit"),
                Step(0, "post", (a_key, legs_json(a_legs), a_desc)),
                Step(0, "commit"),
            ],
        )

    @rule(data=st.data())
    def rollback_after_post(self, data: st.DataObject) -> None:
        key = self.new_key()
        legs = self.draw_valid_legs(data)
        self.run_schedule(
            1,
            [Step(0, "begin", (False,)), Step(0, "post", (key, legs_json(legs), None)), Step(0, "rollback")],
        )

    @rule(data=st.data(), with_waiter=st.booleans())
    def terminate_mid_transaction(self, data: st.DataObject, with_waiter: bool) -> None:
        """A posts and is terminated before COMMIT; optionally B waits on A's rows meanwhile and then proceeds."""
        key = self.new_key()
        legs = self.draw_valid_legs(data)
        steps = [Step(0, "begin", (False,)), Step(0, "post", (key, legs_json(legs), None))]
        if with_waiter:
            steps += [Step(1, "begin", (False,)), Step(1, "post", (self.new_key(), legs_json(legs), None))]
        steps.append(Step(0, "terminate"))
        if with_waiter:
            steps.append(Step(1, "commit"))
        self.run_schedule(2 if with_waiter else 1, steps)

    def run_schedule(self, n: int, schedule: list[Step]) -> None:
        """Run the steps in schedule order, except that a step of a session whose previous step is blocked on a
        lock waits until that step finished (a connection runs one statement at a time). ``order`` is the order in
        which steps really started; results are compared with the model in that order."""
        while len(self.sessions) < n:
            self.sessions.append(Session(self.url, f"model-s{next(self.next_session)}", self.ledger))
        sessions = self.sessions[:n]
        self.stats.interleavings += n > 1
        self.stats.transactions += n
        sequencer_runs = sum(1 for step in schedule if step.kind == "sequence")
        if sequencer_runs:  # session n: the sequencer's own READ COMMITTED connection
            if self.sequencer is None:
                self.sequencer = Session(self.url, f"model-seq{next(self.next_session)}", self.ledger, sequencer=True)
            sessions = [*sessions, self.sequencer]
            self.stats.transactions += sequencer_runs
            self.stats.sequencer_runs += sequencer_runs
        n_all = len(sessions)
        backlog: list[deque[Step]] = [deque() for _ in range(n_all)]
        current: list[Step | None] = [None] * n_all
        order: list[Step] = []

        def busy(i: int) -> bool:
            step = current[i]
            return step is not None and step.future is not None and not step.future.done()

        def start(step: Step) -> None:
            sess = sessions[step.session]
            order.append(step)
            if sess.dead:
                return
            step.future = run_step(sess, step)
            current[step.session] = step
            if not wait_done_or_blocked(self.monitor, sess, step.future):
                self.stats.blocked_steps += 1

        def pump() -> None:
            progress = True
            while progress:
                progress = False
                for i in range(n_all):
                    if backlog[i] and not busy(i):
                        start(backlog[i].popleft())
                        progress = True

        for step in schedule:
            if step.kind == "terminate":  # from another connection: it does not wait for the session
                if not terminate(self.monitor, sessions[step.session]):
                    self.fail("pg_terminate_backend found no backend to terminate")
                self.stats.terminations += 1
                order.append(step)
            elif busy(step.session) or backlog[step.session]:
                backlog[step.session].append(step)
            else:
                start(step)
            pump()
        deadline = time.monotonic() + HANG_SECONDS
        while any(backlog) or any(busy(i) for i in range(n_all)):
            if time.monotonic() > deadline:
                self.fail("interleaved sessions did not finish")
            time.sleep(0.001)
            pump()
        states = [TxState() for _ in range(n_all)]
        self.folded = 0
        for step in order:
            self.process(step, states[step.session], sessions[step.session])
        if sequencer_runs:
            self.stats.legs_folded += self.folded
            self.resync_queue(self.folded, f"{sequencer_runs} sequencer run(s) interleaved with postings")
        for i, sess in enumerate(sessions[:n]):
            if sess.dead:
                sess.close()
                self.sessions[i] = Session(self.url, f"model-s{next(self.next_session)}", self.ledger)
            elif sess.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.fail(f"session {i} left in {sess.conn.info.transaction_status.name}")

    def process(self, step: Step, tx: TxState, sess: Session) -> None:
        result = step.future.result() if step.future is not None else None
        what = f"session {step.session} {step.kind}{step.args if step.kind in ('post', 'sequence', 'batch') else ''}"
        if step.kind == "sequence":
            # How many legs were committed when its statement began is not the model's to know: at most p_max.
            if not isinstance(result, int) or isinstance(result, bool) or not 0 <= result <= step.args[0]:
                self.fail(f"{what}: {result!r}")
            self.folded += result
            return
        if step.kind == "terminate":
            tx.dead = True
            return
        if step.future is None:  # its session had been terminated before the step could start
            if not tx.dead:
                self.fail(f"{what}: not run, although its session was alive")
            return
        if isinstance(result, psycopg.OperationalError) and result.sqlstate not in ("40001", "40P01"):
            if not sess.dead:
                self.fail(f"{what}: connection lost without a termination: {result}")
            tx.dead = True
            return
        if isinstance(result, psycopg.Error) and result.sqlstate in ("40001", "40P01"):
            tx.failed = True
            self.stats.serialization_failures += 1
            return
        if step.kind == "begin":
            if result != "begun":
                self.fail(f"{what}: {result!r}")
        elif step.kind == "batch":
            batch, atomic = step.meta, step.args[1]
            if result is SKIPPED:
                if not tx.failed:
                    self.fail(f"{what}: skipped although its transaction had not failed")
                return
            if tx.failed or tx.dead:
                self.fail(f"{what}: ran after its transaction failed: {result!r}")
            self.count_batch(batch, atomic)
            self.stats.interleaved_batches += 1
            view = self.books.copy()
            for entry in tx.pending:
                view.apply(entry)
            outcomes = predict_batch(view, batch, atomic)
            if isinstance(result, E.LedgerError):
                self.check_batch_error(what, view, batch, outcomes, atomic, result)
                tx.failed = True
            elif isinstance(result, list):
                tx.pending += self.check_batch_results(what, batch, outcomes, atomic, result)
            else:
                self.fail(f"{what}: unexpected {result!r}")
        elif step.kind == "post":
            key, legs_j, description = step.args
            legs = tuple((leg["account"], leg["amount"], leg["currency"]) for leg in legs_j)
            if result is SKIPPED:
                if not tx.failed:
                    self.fail(f"{what}: skipped although its transaction had not failed")
                return
            if tx.failed or tx.dead:
                self.fail(f"{what}: ran after its transaction failed: {result!r}")
            view = self.books.copy()
            for entry in tx.pending:
                view.apply(entry)
            outcome = view.predict_post(key, legs, description)
            if isinstance(result, E.LedgerError):
                self.check_error(what, outcome, result)
                self.refused_keys.append((key, ("post", legs, description)))
                refusal = view.refusal(key, ("post", legs, description), outcome)
                if refusal is not None:
                    tx.pending.append(refusal)  # returned as a row: the transaction goes on, and commits it
                tx.failed = not result.recorded
            elif isinstance(result, PostResult):
                self.check_success(what, outcome, result)
                if result.created:
                    tx.pending.append(
                        Entry(result.entry_id, key, legs, ("post", legs, description), None, dict(result.balances))
                    )
            else:
                self.fail(f"{what}: unexpected {result!r}")
        elif step.kind == "commit":
            if result == "committed":
                if tx.failed or tx.dead:
                    self.fail(f"{what}: a failed transaction committed")
                for entry in tx.pending:
                    self.books.apply(entry)
                    self.stats.committed_entries += isinstance(entry, Entry)
            elif result == "rolled back":
                if not tx.failed:
                    self.fail(f"{what}: rolled back although nothing failed")
            else:
                self.fail(f"{what}: unexpected {result!r}")
        elif step.kind == "rollback":
            if result != "rolled back":
                self.fail(f"{what}: unexpected {result!r}")
            self.stats.rollbacks += bool(tx.pending)  # a rollback that undid successful postings

    # --- after every step ---------------------------------------------------------------------------------
    @invariant()
    def books_agree(self) -> None:
        self.stats.steps += 1
        problem = self.agree()
        if problem is not None:
            self.fail(problem)

    def agree(self) -> str | None:
        """Invariants 1-4 over the whole database (earlier examples' books included); invariant 5 for this
        example's book, whose journal must be exactly the model's entries; then its accounts against the model."""
        report = check_invariants(self.monitor, self.books.acks(self.book), complete=True, scope=[self.book])
        self.row.record(report)
        if not report.ok:
            raise InvariantViolation(report, "model-based step")
        rows = self.monitor.execute(
            "SELECT code, account_id, currency, type, status, debit_balance, postings, lower_limit, deferred, queued, "
            "       (SELECT count(*) FROM ledger.entries WHERE book = %(book)s) "
            "FROM ledger.accounts WHERE book = %(book)s ORDER BY code",
            {"book": self.book},
        ).fetchall()
        entries = rows[0][-1] if rows else 0
        rows = [r[:-1] for r in rows]
        model = [
            (a.code, a.account_id, a.currency, a.type, a.status, a.debit, a.seq, a.lower_limit, a.deferred, a.queued)
            for a in sorted(self.books.accounts.values(), key=lambda a: a.code)
        ]
        if rows != model:
            return f"accounts: database {rows}, model {model}"
        if entries != len(self.books.entries):
            return f"the book has {entries} entries, the model {len(self.books.entries)}"
        return None


def test_model_based(cluster: Cluster, certification: Certification, database_factory: DatabaseFactory) -> None:
    stats = ModelStats()
    with certification.scenario("model-based property test (hypothesis)") as row:
        LedgerMachine.slots = slots = Slots(database_factory)
        LedgerMachine.row = row
        LedgerMachine.stats = stats
        rounds = 0
        try:
            while stats.transactions < PROFILE.model_transactions:
                rounds += 1
                run_state_machine_as_test(
                    LedgerMachine,
                    settings=settings(
                        max_examples=PROFILE.model_examples,
                        stateful_step_count=PROFILE.model_steps,
                        deadline=None,
                        database=None,
                        suppress_health_check=list(HealthCheck),
                        print_blob=True,
                        report_multiple_bugs=False,
                        # Shrinking replays hundreds of examples, each on a fresh database: minutes. The failing
                        # example is printed step by step without it; DUALBOOK_SHRINK=1 shrinks it.
                        phases=list(Phase) if os.environ.get("DUALBOOK_SHRINK") else PHASES_NO_SHRINK,
                    ),
                )
        finally:
            row.transactions = stats.transactions
            row.faults = stats.terminations
            slots.close()
            row.note("hypothesis rounds", rounds)
            row.note("databases", slots.databases)
            row.note("examples", stats.examples)
            row.note("steps", stats.steps)
            row.note("entries committed", stats.committed_entries)
            row.note("replays", stats.replays)
            row.note("refusals predicted", sum(stats.refusals.values()))
            row.note("of them recorded with their key", stats.recorded_refusals)
            row.note("recorded refusals replayed", stats.refusal_replays)
            row.note("interleavings", stats.interleavings)
            row.note("blocked steps", stats.blocked_steps)
            row.note("40001/40P01 accepted", stats.serialization_failures)
            row.note("rollbacks after a successful post", stats.rollbacks)
            row.note("backends terminated", stats.terminations)
            row.note("deferred accounts", stats.deferred_accounts)
            row.note("sequencer runs", stats.sequencer_runs)
            row.note("legs folded", stats.legs_folded)
            row.note("get_balance reads", stats.balance_reads)
            row.note("post_entries batches", stats.batches)
            row.note("of them atomic", stats.atomic_batches)
            row.note("inside interleavings", stats.interleaved_batches)
            row.note("atomic batches refused whole", stats.atomic_batches_refused)
            row.note("batch entries", stats.batch_entries)
            for status in ("posted", "replayed", "rejected"):
                row.note(f"batch entries {status}", stats.batch_results[status])
            print(f"model-based: {stats.transactions} transactions, {stats} ")
        assert stats.transactions >= PROFILE.model_transactions
