"""The certification checker: one function that decides whether the books are sound, reused by every scenario of
the certification suite (tests/python/certify) and usable by anything else that wants the same verdict.

:func:`check_invariants` checks, in one read-only REPEATABLE READ snapshot:

1. per book and currency the postings sum to 0 (``books_check``: ``currency_sum``) and so does the trial balance
   (``ledger.trial_balance.net``);
2. every account's maintained balance and sequence equal its postings, without gaps (``books_check``:
   ``account_balance``, ``running_balance``, ``posting_refs``);
3. every limit holds (``books_check``: ``limits``);
4. each idempotency key maps to one entry and every entry balances (``books_check``: ``idempotency``,
   ``entry_balanced``, ``reversal``);
5. what the client saw agrees with the database: every acknowledged posting exists exactly once, as the entry id
   and legs the client was told; a key whose outcome the client never learned exists at most once; a key the
   database refused does not exist; and, when the client's record is declared complete, the journal holds
   nothing else and every account's balance and posting count are the sums of the acknowledged legs.

The database's own ``ledger.books_check()`` decides 1-4, with every check it has (also ``deferred`` and
``balance_range`` for deferred accounts); no SQL rule is re-implemented here. This module only compares the
client's record with what the database holds, read through the API's views (``ledger.entries``,
``ledger.postings``, ``ledger.accounts``, ``ledger.trial_balance``), all in one round trip. Every problem is a
:class:`Finding` with a check name and a subject, so a test can assert exactly which corruption was reported.

The rest of the module is the bookkeeping of a certification run: :class:`ScenarioRow` (one line of the table,
fed by the checker's reports) and :func:`render_certification` (the markdown table of ``make certify``).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import psycopg
from psycopg.pq import TransactionStatus

from dualbook.calls import Leg, PostResult

#: (account code, amount debit-positive, currency) — one leg as the client sent it and the journal stores it
LegTuple: TypeAlias = tuple[str, int, str]

#: check names by the column of the certification table they count in; every other finding counts as drift
DOUBLE_POST_CHECKS = frozenset({"idempotency", "ack_duplicate", "unknown_duplicate"})
LOST_CHECKS = frozenset({"ack_missing"})


def leg_tuples(legs: Iterable[Leg | Mapping[str, Any] | Sequence[Any]]) -> tuple[LegTuple, ...]:
    """Legs as (account, amount, currency) tuples, whatever shape the caller used."""
    out: list[LegTuple] = []
    for leg in legs:
        if isinstance(leg, Leg):
            out.append((leg.account, int(leg.amount), leg.currency))
        elif isinstance(leg, Mapping):
            out.append((str(leg["account"]), int(leg["amount"]), str(leg["currency"])))
        else:
            account, amount, currency = leg
            out.append((str(account), int(amount), str(currency)))
    return tuple(out)


@dataclass(frozen=True)
class AckRecord:
    """What the client was told about one idempotency key: it is posted as ``entry_id`` with these legs."""

    entry_id: int
    legs: tuple[LegTuple, ...]
    book: str = "default"

    @classmethod
    def of(
        cls, result: PostResult, legs: Iterable[Leg | Mapping[str, Any] | Sequence[Any]], book: str = "default"
    ) -> AckRecord:
        """The record of a successful post_entry/reverse_entry (a replay acknowledges the original entry)."""
        return cls(result.entry_id, leg_tuples(legs), book)


@dataclass(frozen=True)
class Finding:
    """One broken invariant: a books_check() row, or a disagreement between the client's record and the journal.

    check: a books_check() name, ``trial_balance``, or one of ``ack_missing``, ``ack_duplicate``,
    ``ack_mismatch``, ``unknown_duplicate``, ``refused_present``, ``unacknowledged_entry``, ``client_balance``.
    subject: what it is about (a currency, an account code, ``entry <id>``, an idempotency key).
    """

    check: str
    book: str
    subject: str
    detail: str

    @property
    def category(self) -> str:
        """The certification table's column: ``lost``, ``double`` or ``drift``."""
        if self.check in LOST_CHECKS:
            return "lost"
        if self.check in DOUBLE_POST_CHECKS:
            return "double"
        return "drift"

    def __str__(self) -> str:
        return f"{self.check} [{self.book}] {self.subject}: {self.detail}"


@dataclass(frozen=True)
class InvariantReport:
    """The verdict of one :func:`check_invariants` run."""

    findings: tuple[Finding, ...]
    entries: int
    accounts: int
    acknowledged: int
    unknown: int
    unknown_present: int
    refused: int
    complete: bool

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def lost(self) -> int:
        return sum(1 for f in self.findings if f.category == "lost")

    @property
    def double_posts(self) -> int:
        return sum(1 for f in self.findings if f.category == "double")

    @property
    def drift(self) -> int:
        return sum(1 for f in self.findings if f.category == "drift")

    def subjects(self) -> set[tuple[str, str]]:
        """{(check, subject)} of every finding: what a corruption test compares."""
        return {(f.check, f.subject) for f in self.findings}

    def __str__(self) -> str:
        head = (
            f"{self.entries} entries, {self.accounts} accounts; checked {self.acknowledged} acknowledged keys, "
            f"{self.unknown} keys of unknown outcome ({self.unknown_present} posted), {self.refused} refused"
            + (", complete record" if self.complete else "")
        )
        if self.ok:
            return f"invariants hold: {head}"
        lines = [f"{len(self.findings)} invariant violation(s) ({head}):"]
        lines += [f"  - {f}" for f in self.findings[:50]]
        if len(self.findings) > 50:
            lines.append(f"  ... and {len(self.findings) - 50} more")
        return "\n".join(lines)


class InvariantViolation(AssertionError):
    """Raised by :meth:`ScenarioRow.verify` when an invariant does not hold; carries the report."""

    def __init__(self, report: InvariantReport, where: str = "") -> None:
        super().__init__((f"{where}: " if where else "") + str(report))
        self.report = report


def check_invariants(
    conn_or_url: psycopg.Connection[Any] | str,
    acknowledged: Mapping[str, AckRecord] | None = None,
    unknown: Iterable[str] | None = None,
    *,
    refused: Iterable[str] | None = None,
    complete: bool = False,
    scope: Iterable[str] | None = None,
    book: str = "default",
) -> InvariantReport:
    """Check invariants 1-5 (module docstring) and return every violation found.

    conn_or_url: a URL (a connection is opened and closed), or an open connection: if it is idle, the checks run
    in their own REPEATABLE READ READ ONLY transaction on it; if it is inside a transaction, in that transaction.
    acknowledged: idempotency key -> what the client was told (the record carries its book).
    unknown: keys (in ``book``) whose outcome the client never learned: each must exist at most once.
    refused: keys (in ``book``) the database refused with a definite error: none may exist.
    complete: the acknowledged records (plus the unknown keys found posted) are the whole journal: no other
    entry may exist, and each account's balance and posting count must be the sum and count of the
    acknowledged legs on it (only checked when no unknown key turned out posted).
    scope: with ``complete``, the books the record covers (default: every book).
    """
    books = None if scope is None else sorted(set(scope))
    if isinstance(conn_or_url, str):
        with psycopg.connect(conn_or_url, autocommit=True) as conn:
            return check_invariants(
                conn, acknowledged, unknown, refused=refused, complete=complete, scope=scope, book=book
            )
    conn = conn_or_url
    status = conn.info.transaction_status
    if status == TransactionStatus.IDLE:
        with conn.pipeline(), conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return _check(conn, acknowledged or {}, set(unknown or ()), set(refused or ()), complete, books, book)
    if status == TransactionStatus.INTRANS:
        return _check(conn, acknowledged or {}, set(unknown or ()), set(refused or ()), complete, books, book)
    raise psycopg.ProgrammingError(f"check_invariants needs a usable connection, not one in state {status.name}")


def _check(
    conn: psycopg.Connection[Any],
    acks: Mapping[str, AckRecord],
    unknown: set[str],
    refused: set[str],
    complete: bool,
    scope: list[str] | None,
    book: str,
) -> InvariantReport:
    wanted: dict[tuple[str, str], str] = {}
    for key, rec in acks.items():
        wanted[(rec.book, key)] = "ack"
    for key in unknown:
        wanted.setdefault((book, key), "unknown")
    for key in refused:
        wanted.setdefault((book, key), "refused")
    key_books = sorted({bk for bk, _ in wanted})
    entry_books = None if complete and scope is None else sorted(set(key_books) | set(scope or ()))

    # Every query in one round trip (a pipeline). The journal of the books concerned is read whole and matched
    # here: a join of the views by key degenerates into a quadratic nested loop on tables without statistics.
    with conn.pipeline():
        q_books_check = conn.execute("SELECT check_name, book, subject, detail FROM ledger.books_check()")
        q_trial = conn.execute(
            "SELECT book, currency, net FROM ledger.trial_balance WHERE net <> 0 ORDER BY book, currency"
        )
        q_counts = conn.execute("SELECT (SELECT count(*) FROM ledger.entries), (SELECT count(*) FROM ledger.accounts)")
        q_entries = conn.execute(
            "SELECT book, idempotency_key, entry_id FROM ledger.entries "
            "WHERE %(books)s::text[] IS NULL OR book = ANY(%(books)s) ORDER BY book, entry_id",
            {"books": entry_books},
        )
        q_postings = conn.execute(
            "SELECT entry_id, account, amount, currency FROM ledger.postings WHERE book = ANY(%s) "
            "ORDER BY entry_id, leg",
            (key_books,),
        )
        q_accounts = (
            conn.execute(
                "SELECT book, code, debit_balance, postings FROM ledger.accounts "
                "WHERE %(scope)s::text[] IS NULL OR book = ANY(%(scope)s) ORDER BY book, code",
                {"scope": scope},
            )
            if complete
            else None
        )

    findings: list[Finding] = []
    # 1-4: the database's own recomputation from the raw journal.
    for check_name, bk, subject, detail in q_books_check.fetchall():
        findings.append(Finding(check_name, bk, subject, detail))
    # 1: the trial balance nets to zero per book and currency.
    for bk, currency, net in q_trial.fetchall():
        findings.append(Finding("trial_balance", bk, currency, f"net {net}, not 0"))
    n_entries, n_accounts = q_counts.fetchone() or (0, 0)

    # 5: the client's record against the journal.
    journal = q_entries.fetchall()
    found: dict[tuple[str, str], dict[int, list[LegTuple]]] = defaultdict(dict)
    legs_of: dict[int, list[LegTuple]] = {}
    for bk, key, entry_id in journal:
        if (bk, key) in wanted:
            legs_of[entry_id] = found[(bk, key)].setdefault(entry_id, [])
    for entry_id, account, amount, currency in q_postings.fetchall():
        if entry_id in legs_of:
            legs_of[entry_id].append((account, int(amount), currency))

    unknown_present = 0
    for (bk, key), kind in sorted(wanted.items()):
        entries = {e: tuple(legs) for e, legs in found.get((bk, key), {}).items()}
        if kind == "ack":
            rec = acks[key]
            if not entries:
                findings.append(Finding("ack_missing", bk, key, f"acknowledged as entry {rec.entry_id}, not found"))
                continue
            if len(entries) > 1:
                findings.append(Finding("ack_duplicate", bk, key, f"posted {len(entries)} times: {sorted(entries)}"))
            if rec.entry_id not in entries:
                findings.append(
                    Finding("ack_mismatch", bk, key, f"acknowledged as entry {rec.entry_id}, found {sorted(entries)}")
                )
            elif entries[rec.entry_id] != rec.legs:
                findings.append(
                    Finding(
                        "ack_mismatch",
                        bk,
                        key,
                        f"entry {rec.entry_id}: acknowledged legs {list(rec.legs)}, "
                        f"journal has {list(entries[rec.entry_id])}",
                    )
                )
        elif kind == "unknown":
            if len(entries) > 1:
                findings.append(
                    Finding("unknown_duplicate", bk, key, f"posted {len(entries)} times: {sorted(entries)}")
                )
            unknown_present += 1 if entries else 0
        elif entries:
            findings.append(Finding("refused_present", bk, key, f"refused, but posted as {sorted(entries)}"))

    if q_accounts is not None:
        in_scope = [(bk, key, e) for bk, key, e in journal if scope is None or bk in scope]
        findings += _complete_record(in_scope, q_accounts.fetchall(), acks, wanted, scope, unknown_present == 0)

    return InvariantReport(
        findings=tuple(findings),
        entries=int(n_entries),
        accounts=int(n_accounts),
        acknowledged=len(acks),
        unknown=len(unknown),
        unknown_present=unknown_present,
        refused=len(refused),
        complete=complete,
    )


def _complete_record(
    journal: list[tuple[str, str, int]],
    accounts: list[tuple[str, str, int, int]],
    acks: Mapping[str, AckRecord],
    wanted: Mapping[tuple[str, str], str],
    scope: list[str] | None,
    balances: bool,
) -> list[Finding]:
    """The journal (of the books in scope) holds only what the client knows of; balances are the sums of the
    acknowledged legs."""
    findings: list[Finding] = []
    for bk, key, entry_id in journal:
        if (bk, key) not in wanted:
            findings.append(Finding("unacknowledged_entry", bk, key, f"entry {entry_id} is not in the client's record"))
    if not balances:
        return findings
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for rec in acks.values():
        if scope is not None and rec.book not in scope:
            continue
        for account, amount, _currency in rec.legs:
            cell = expected[(rec.book, account)]
            cell[0] += amount
            cell[1] += 1
    for bk, code, debit_balance, postings in accounts:
        want_balance, want_postings = expected.pop((bk, code), [0, 0])
        if (debit_balance, postings) != (want_balance, want_postings):
            findings.append(
                Finding(
                    "client_balance",
                    bk,
                    code,
                    f"debit balance {debit_balance} over {postings} postings; the acknowledged legs sum to "
                    f"{want_balance} over {want_postings}",
                )
            )
    for (bk, code), (want_balance, _) in sorted(expected.items()):
        findings.append(
            Finding("client_balance", bk, code, f"no such account; acknowledged legs sum to {want_balance}")
        )
    return findings


# --- the certification table ------------------------------------------------------------------------------
@dataclass
class ScenarioRow:
    """One scenario's figures. Every number is counted during the run; the checker's reports feed the last four."""

    scenario: str
    transactions: int = 0
    faults: int = 0
    lost: int = 0
    double_posts: int = 0
    drift: int = 0
    checks: int = 0
    seconds: float = 0.0
    status: str = "running"
    notes: dict[str, int | str] = field(default_factory=dict)

    def record(self, report: InvariantReport) -> None:
        """Count one checker run and whatever it found."""
        self.checks += 1
        self.lost += report.lost
        self.double_posts += report.double_posts
        self.drift += report.drift

    def verify(
        self,
        conn_or_url: psycopg.Connection[Any] | str,
        acknowledged: Mapping[str, AckRecord] | None = None,
        unknown: Iterable[str] | None = None,
        *,
        refused: Iterable[str] | None = None,
        complete: bool = False,
        scope: Iterable[str] | None = None,
        book: str = "default",
        where: str = "",
    ) -> InvariantReport:
        """Run :func:`check_invariants`, count it, and raise :class:`InvariantViolation` if anything is broken."""
        report = check_invariants(
            conn_or_url, acknowledged, unknown, refused=refused, complete=complete, scope=scope, book=book
        )
        self.record(report)
        if not report.ok:
            raise InvariantViolation(report, where or self.scenario)
        return report

    def note(self, name: str, value: int | str) -> None:
        self.notes[name] = value

    def add(self, name: str, n: int = 1) -> None:
        current = self.notes.get(name, 0)
        self.notes[name] = (current if isinstance(current, int) else 0) + n


@dataclass
class SelfTestRow:
    """The checker's self-test: a deliberate corruption, what was expected and what the checker reported."""

    corruption: str
    expected: list[str]
    reported: list[str]
    status: str


@dataclass
class Certification:
    """The collector of a certification run (one per pytest session)."""

    profile: str
    rows: list[ScenarioRow] = field(default_factory=list)
    selftests: list[SelfTestRow] = field(default_factory=list)

    @contextlib.contextmanager
    def scenario(self, name: str) -> Iterator[ScenarioRow]:
        """Time a scenario and record its row; the row says FAIL if the scenario raised."""
        row = ScenarioRow(name)
        self.rows.append(row)
        start = time.monotonic()
        try:
            yield row
        except BaseException:
            row.status = "FAIL"
            raise
        else:
            row.status = "PASS"
        finally:
            row.seconds = time.monotonic() - start


def render_certification(cert: Certification, *, title: str = "dualbook certification") -> str:
    """The markdown report: the scenario table, then the checker's self-test."""
    head = [
        f"# {title}",
        "",
        f"Profile: `{cert.profile}`. Every figure below was counted during this run. Transactions: database "
        "transactions attempted that called a ledger write function (committed, refused, rolled back, killed, or "
        "retried). Invariant checks: runs of `dualbook.tools.certify.check_invariants`, each checking the five "
        "invariants of docs/certification-suite.md. Acknowledged lost, double posts and drift: what those runs "
        "(and the model) found.",
        "",
    ]
    if cert.rows:
        head += [
            "| scenario | result | transactions | faults injected | acknowledged lost | double posts | drift "
            "| invariant checks run | seconds |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
    for r in cert.rows:
        head.append(
            f"| {r.scenario} | {r.status} | {r.transactions:,} | {r.faults:,} | {r.lost} | {r.double_posts} "
            f"| {r.drift} | {r.checks:,} | {r.seconds:.1f} |"
        )
    tot = ScenarioRow("total")
    for r in cert.rows:
        tot.transactions += r.transactions
        tot.faults += r.faults
        tot.lost += r.lost
        tot.double_posts += r.double_posts
        tot.drift += r.drift
        tot.checks += r.checks
        tot.seconds += r.seconds
    failed = [r for r in cert.rows if r.status != "PASS"]
    if cert.rows:
        head.append(
            f"| **total** | {'FAIL' if failed else 'PASS'} | {tot.transactions:,} | {tot.faults:,} | {tot.lost} "
            f"| {tot.double_posts} | {tot.drift} | {tot.checks:,} | {tot.seconds:.1f} |"
        )
    notes = [r for r in cert.rows if r.notes]
    if notes:
        head += ["", "Details:", ""]
        for r in notes:
            details = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in r.notes.items())
            head.append(f"- {r.scenario}: {details}")
    if cert.selftests:
        head += [
            "",
            "Checker self-test (a copy of the books corrupted as superuser with triggers bypassed; the checker must "
            "report exactly the expected findings):",
            "",
            "| corruption | expected findings | reported findings | result |",
            "|---|---|---|---|",
        ]
        for s in cert.selftests:
            head.append(
                f"| {s.corruption} | {'; '.join(s.expected)} | {'; '.join(s.reported) or '(none)'} | {s.status} |"
            )
    return "\n".join(head) + "\n"
