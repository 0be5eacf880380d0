"""A Python model of one book, used by the model-based property test.

The model predicts only what the database decides from state it can see: which error a request gets (in the
order of the checks documented in docs/sql-api.md §2.5/§2.6), the balances after an entry, replays and
idempotency conflicts, and which refusals are recorded with their key (§1.6: a refusal that depends on the
ledger's state) and replayed to every later call with the key and the same request.
Deferred (hot) accounts (§1.8): their balance is stored + queued legs, always exact, so the
model keeps one balance for them as for any account, plus how many of their legs wait in the queue; they have no
limits and are left out of a posting's ``balances``. It never predicts entry ids (they are allocated, with gaps)
or serialization failures (the test accepts a 40001 on an interleaved transaction, and then the model must not
apply that transaction).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dualbook.tools.certify import AckRecord, LegTuple

DEBIT_NORMAL = frozenset({"asset", "expense"})
#: refusals that depend on the ledger's state: recorded with the key (LD205 and LD210 are not)
RECORDED = frozenset({"LD201", "LD202", "LD203", "LD204", "LD209", "LD211"})

#: ("post", legs, description) or ("reverse", reversed entry id, reason): what the idempotency hash covers
Request = tuple[Any, ...]


def normal_balance(account_type: str, debit_balance: int) -> int:
    return debit_balance if account_type in DEBIT_NORMAL else -debit_balance


@dataclass
class Account:
    code: str
    currency: str
    type: str
    lower_limit: int | None
    account_id: int
    status: str = "open"
    debit: int = 0
    seq: int = 0  # postings on the account, queued ones included (ledger.accounts.postings, get_balance().seq)
    closed_at: datetime | None = None
    deferred: bool = False
    queued: int = 0  # legs waiting for the sequencer (deferred accounts only)

    @property
    def balance(self) -> int:
        return normal_balance(self.type, self.debit)


@dataclass(frozen=True)
class Entry:
    entry_id: int
    key: str
    legs: tuple[LegTuple, ...]
    request: Request
    reverses: int | None
    balances: dict[str, int]


@dataclass(frozen=True)
class Outcome:
    """A prediction. ``error`` None means success: a new entry (``replay_of`` None) or a replay of one."""

    error: str | None
    account: str | None = None
    replay_of: int | None = None
    legs: tuple[LegTuple, ...] = ()
    balances: dict[str, int] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    #: a refusal recorded with the key (by this call, or by an earlier one: then ``refusal_replay``)
    recorded: bool = False
    refusal_replay: bool = False

    def describe(self) -> str:
        if self.error is None:
            return f"replay of entry {self.replay_of}" if self.replay_of is not None else f"posted {self.balances}"
        what = self.error + (f" on {self.account}" if self.account else "")
        return what + (
            " (recorded refusal, replayed)" if self.refusal_replay else " (recorded)" if self.recorded else ""
        )


@dataclass(frozen=True)
class Refusal:
    """A refusal recorded with its key: what a committed refused call leaves behind."""

    key: str
    request: Request
    outcome: Outcome


@dataclass
class Books:
    accounts: dict[str, Account] = field(default_factory=dict)
    entries: dict[int, Entry] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    reversed_by: dict[int, int] = field(default_factory=dict)
    refusals: dict[str, Refusal] = field(default_factory=dict)

    def copy(self) -> Books:
        return Books(
            accounts={c: copy.copy(a) for c, a in self.accounts.items()},
            entries=dict(self.entries),
            keys=dict(self.keys),
            reversed_by=dict(self.reversed_by),
            refusals=dict(self.refusals),
        )

    # --- predictions --------------------------------------------------------------------------------
    def predict_post(self, key: str, legs: tuple[LegTuple, ...], description: str | None) -> Outcome:
        if len(legs) < 2:
            return Outcome("LD109")
        for account, amount, _ in legs:
            if amount == 0:
                return Outcome("LD103", account=account)
        sums: dict[str, int] = {}
        for _, amount, currency in legs:
            sums[currency] = sums.get(currency, 0) + amount
        unbalanced = sorted(c for c, s in sums.items() if s != 0)
        if unbalanced:
            return Outcome("LD102", detail={"currency": unbalanced[0], "imbalance": str(sums[unbalanced[0]])})
        return self._post(key, ("post", legs, description), legs, reverses=None)

    def refusal(self, key: str, request: Request, outcome: Outcome) -> Refusal | None:
        """What a call that got ``outcome`` records, if anything: a new refusal of the ledger's state."""
        if outcome.error is None or not outcome.recorded or outcome.refusal_replay:
            return None
        return Refusal(key, request, outcome)

    def predict_reverse(self, entry_id: int, key: str, reason: str | None) -> Outcome:
        original = self.entries.get(entry_id)
        if original is None:
            return Outcome("LD208")
        legs = tuple((account, -amount, currency) for account, amount, currency in original.legs)
        return self._post(key, ("reverse", entry_id, reason), legs, reverses=entry_id)

    def _post(self, key: str, request: Request, legs: tuple[LegTuple, ...], reverses: int | None) -> Outcome:
        if key in self.keys:
            original = self.entries[self.keys[key]]
            if original.request == request:
                return Outcome(None, replay_of=original.entry_id, legs=original.legs, balances=original.balances)
            return Outcome("LD205", replay_of=original.entry_id)
        if key in self.refusals:
            refused = self.refusals[key]
            if refused.request == request:
                return replace(refused.outcome, refusal_replay=True)
            return Outcome("LD205", detail={"refused": refused.outcome.error})
        outcome = self._refuse_or_post(legs, reverses)
        return replace(outcome, recorded=outcome.error in RECORDED)

    def _refuse_or_post(self, legs: tuple[LegTuple, ...], reverses: int | None) -> Outcome:
        if reverses is not None and reverses in self.reversed_by:
            return Outcome("LD209", detail={"reversed_by": self.reversed_by[reverses]})
        limit_error: str | None = None
        after: dict[str, int] = {}
        for code in sorted({account for account, _, _ in legs}):  # the database's order: by code (C collation)
            mine = [(amount, currency) for account, amount, currency in legs if account == code]
            acc = self.accounts.get(code)
            if acc is None:
                return Outcome("LD201", account=code)
            if acc.status != "open":
                return Outcome("LD202", account=code)
            if any(currency != acc.currency for _, currency in mine):
                return Outcome("LD107", account=code)
            balance = normal_balance(acc.type, acc.debit + sum(a for a, _ in mine))
            if limit_error is None and acc.lower_limit is not None and balance < acc.lower_limit:
                limit_error = code
            if not acc.deferred:  # a deferred account's balance is not read on the write path: not reported
                after[code] = balance
        if limit_error is not None:
            return Outcome("LD203", account=limit_error, detail={"balance": str(after[limit_error])})
        return Outcome(None, legs=legs, balances=after)

    def predict_create(
        self, code: str, currency: str, account_type: str, lower_limit: int | None, deferred: bool = False
    ) -> str:
        """'created', 'exists' (same attributes, created=false), 'LD206' (other attributes), 'LD202' (the same
        attributes, but the account is closed: it is never reopened) or 'LD101' (a deferred account with a limit,
        checked before the code is looked up)."""
        if deferred and lower_limit is not None:
            return "LD101"
        acc = self.accounts.get(code)
        if acc is None:
            return "created"
        if (acc.currency, acc.type, acc.lower_limit, acc.deferred) != (currency, account_type, lower_limit, deferred):
            return "LD206"
        return "LD202" if acc.status == "closed" else "exists"

    def predict_close(self, code: str) -> str:
        """'closed', 'already' (returns the original closed_at), 'LD201' or 'LD207'."""
        acc = self.accounts.get(code)
        if acc is None:
            return "LD201"
        if acc.status == "closed":
            return "already"
        if acc.debit != 0:
            return "LD207"
        return "closed"

    # --- changes ----------------------------------------------------------------------------------------
    def apply(self, entry: Entry | Refusal) -> None:
        if isinstance(entry, Refusal):
            self.refusals[entry.key] = entry
            return
        for account, amount, _ in entry.legs:
            acc = self.accounts[account]
            acc.debit += amount
            acc.seq += 1
            acc.queued += acc.deferred
        self.entries[entry.entry_id] = entry
        self.keys[entry.key] = entry.entry_id
        if entry.reverses is not None:
            self.reversed_by[entry.reverses] = entry.entry_id

    def queued(self) -> int:
        """Legs of this book waiting for the sequencer."""
        return sum(a.queued for a in self.accounts.values())

    def acks(self, book: str = "default") -> dict[str, AckRecord]:
        return {e.key: AckRecord(e.entry_id, e.legs, book) for e in self.entries.values()}
