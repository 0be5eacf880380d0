"""An offline verifier of an audit export, in plain Python: ``python -m dualbook.audit.verify EXPORT.jsonl``.

This package is the executable form of docs/audit.md and deliberately independent of the database: it uses the
standard library only (``hashlib``, ``json``), so an auditor runs it with nothing else installed::

    python -m dualbook.audit.verify ledger-export.jsonl   # exit 0: everything holds; 1: the first divergence

It re-implements, without sharing code with the SQL (``deploy/function_audit_hash.sql``), the canonical encoding
(:mod:`dualbook.audit.encoding`), reads the export (:mod:`dualbook.audit.reader`) and then checks it exactly as
``ledger.audit_verify()`` checks the database: the chain of every book, every sealed entry against the journal,
entries added after sealing, and every balance recomputed from the postings. Findings use the same kinds as the
SQL function. ``dualbook audit verify --file FILE`` calls :func:`verify_file`. The names of the encoding and the
reader are re-exported here, the verifier's public face.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from dualbook.audit.encoding import (
    ENCODING,
    FORMAT,
    RECORD_ORDER,
    VERSION,
    Entry,
    ExportData,
    Finding,
    Leg,
    Report,
    Seal,
    SealedEntry,
    SortKey,
    field_bytes,
    fields,
    merkle_root,
)
from dualbook.audit.reader import FormatProblem, is_json_object_text, iter_lines, read_export

__all__ = [
    "ENCODING",
    "FORMAT",
    "RECORD_ORDER",
    "VERSION",
    "Entry",
    "ExportData",
    "Finding",
    "FormatProblem",
    "Leg",
    "Report",
    "Seal",
    "SealedEntry",
    "field_bytes",
    "fields",
    "is_json_object_text",
    "iter_lines",
    "main",
    "merkle_root",
    "read_export",
    "verify_data",
    "verify_file",
]


def verify_data(data: ExportData) -> Report:
    """Every check of docs/audit.md on parsed records; findings sorted as ``ledger.audit_verify()`` sorts them."""
    report = Report()
    found: list[tuple[SortKey, Finding]] = []
    codes = {int(book_id): str(rec.get("code")) for book_id, rec in data.books.items()}

    def add(sort: SortKey, kind: str, subject: str, detail: str) -> None:
        book = codes.get(sort.book_id) if sort.book_id is not None else None
        found.append((sort, Finding(kind, book, sort.seal_no, sort.entry_id, subject, detail)))

    # Postings grouped by entry, in leg order; every entry's leg hashes and hash as they are now.
    legs_of: dict[tuple[int, int], list[Leg]] = defaultdict(list)
    for p in data.postings:
        legs_of[(int(p.book_id), int(p.entry_id))].append(p)
    for legs in legs_of.values():
        legs.sort(key=lambda p: int(p.leg))
    entries = {(int(e.book_id), int(e.entry_id)): e for e in data.entries}
    leg_hashes_now: dict[tuple[int, int], list[bytes]] = {}
    hash_now: dict[tuple[int, int], bytes] = {}
    for key, e in entries.items():
        hashes = [p.hash() for p in legs_of.get(key, [])]
        leg_hashes_now[key] = hashes
        hash_now[key] = e.hash(hashes)

    # 1. The chain of each book, seal by seal.
    chains: dict[int, list[Seal]] = defaultdict(list)
    for s in data.seals:
        chains[int(s.book_id)].append(s)
    members: dict[tuple[int, int], list[SealedEntry]] = defaultdict(list)
    for se in data.sealed_entries:
        members[(int(se.book_id), int(se.seal_no))].append(se)
    ranges: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    watermark = 0
    for book_id, seals in sorted(chains.items()):
        seals.sort(key=lambda s: int(s.seal_no))
        prev: Seal | None = None
        for s in seals:
            no, lo, hi = int(s.seal_no), int(s.from_entry_id), int(s.to_entry_id)
            ranges[book_id].append((no, lo, hi))
            watermark = max(watermark, hi)
            subject = f"seal {no}"
            prev_no = int(prev.seal_no) if prev else 0
            if no != prev_no + 1:
                detail = (
                    f"the chain starts at seal {no}: seal(s) 1..{no - 1} are missing"
                    if prev is None
                    else f"seal {no} follows seal {prev_no}: seal(s) {prev_no + 1}..{no - 1} are missing"
                )
                add(SortKey(False, book_id, no, 1, None), "seal_sequence", subject, detail)
            prev_to = int(prev.to_entry_id) if prev else 0
            if lo != prev_to:
                add(
                    SortKey(False, book_id, no, 2, None),
                    "seal_range",
                    subject,
                    f"covers entries ({lo}, {hi}], but the previous seal ends at {prev_to}",
                )
            prev_hash = prev.seal_hash if prev else None
            if s.prev_hash != prev_hash:
                add(
                    SortKey(False, book_id, no, 3, None),
                    "seal_link",
                    subject,
                    f"prev_hash is {s.prev_hash or 'NULL'}, but the hash of the seal before it "
                    f"({'seal ' + prev.seal_no if prev else 'none'}) is {prev_hash or 'NULL'}",
                )
            recomputed = s.hash().hex()
            if recomputed != s.seal_hash:
                add(
                    SortKey(False, book_id, no, 6, None),
                    "seal_hash",
                    subject,
                    f"stored hash {s.seal_hash}, but its fields hash to {recomputed}",
                )
            sealed_here = sorted(members.get((book_id, no), []), key=lambda se: int(se.entry_id))
            if int(s.entry_count) != len(sealed_here):
                add(
                    SortKey(False, book_id, no, 4, None),
                    "seal_count",
                    subject,
                    f"entry_count is {s.entry_count}, but {len(sealed_here)} entries are sealed in it",
                )
            root = merkle_root([bytes.fromhex(se.entry_hash) for se in sealed_here]).hex()
            if root != s.merkle_root:
                add(
                    SortKey(False, book_id, no, 5, None),
                    "seal_root",
                    subject,
                    f"merkle_root is {s.merkle_root}, but its sealed entry hashes give {root}",
                )
            prev = s
        report.heads[codes.get(book_id, str(book_id))] = seals[-1].seal_hash
    seal_index = {(book_id, no): (lo, hi) for book_id, rs in ranges.items() for no, lo, hi in rs}
    orphans: dict[tuple[int, int], list[int]] = defaultdict(list)
    for se in data.sealed_entries:
        book_id, entry_id, no = int(se.book_id), int(se.entry_id), int(se.seal_no)
        bounds = seal_index.get((book_id, no))
        if bounds is None:
            orphans[(book_id, no)].append(entry_id)
        elif not bounds[0] < entry_id <= bounds[1]:
            add(
                SortKey(False, book_id, no, 7, entry_id),
                "seal_range",
                f"entry {entry_id}",
                f"is recorded in seal {no}, which covers entries ({bounds[0]}, {bounds[1]}]",
            )
    for (book_id, no), ids in orphans.items():
        what = "entry" if len(ids) == 1 else "entries"
        add(
            SortKey(False, book_id, no, 0, None),
            "seal_missing",
            f"seal {no}",
            f"is not in the chain, but {len(ids)} sealed {what} (ids {min(ids)}..{max(ids)}) are recorded in it",
        )

    # 2. Every sealed entry against the journal as it is now.
    sealed_keys: set[tuple[int, int]] = set()
    for se in data.sealed_entries:
        book_id, entry_id, no = int(se.book_id), int(se.entry_id), int(se.seal_no)
        key = (book_id, entry_id)
        sealed_keys.add(key)
        sort = SortKey(False, book_id, no, 10, entry_id)
        subject = f"entry {entry_id}"
        entry = entries.get(key)
        if entry is None:
            n = len(legs_of.get(key, []))
            add(
                sort,
                "entry_missing",
                subject,
                f"was sealed in seal {no} but is not in the journal (deleted); its postings: {n}",
            )
            continue
        now_legs = [h.hex() for h in leg_hashes_now[key]]
        now_hash = hash_now[key].hex()
        if now_hash == se.entry_hash and tuple(now_legs) == se.leg_hashes:
            continue
        if now_hash == se.entry_hash:
            add(
                sort,
                "sealed_legs",
                subject,
                f"matches its sealed hash, but the leg hashes recorded for it in seal {no} were altered",
            )
            continue
        by_number = {int(p.leg): p for p in legs_of.get(key, [])}
        top = max([len(se.leg_hashes), *by_number.keys()])
        differing: list[tuple[int, Leg | None, str | None]] = []
        for k in range(1, top + 1):
            leg = by_number.get(k)
            now = leg.hash().hex() if leg is not None else None
            sealed = se.leg_hashes[k - 1] if k <= len(se.leg_hashes) else None
            if now != sealed:
                differing.append((k, leg, sealed))
        if not differing:
            add(
                sort,
                "entry_changed",
                subject,
                f"its header no longer matches seal {no} (entry hash {now_hash}, sealed {se.entry_hash}); now: key "
                f"{entry.idempotency_key!r}, description {entry.description!r}, effective_date {entry.effective_date}, "
                f"recorded_at {entry.recorded_at}, reverses {entry.reverses_entry_id or 'none'}",
            )
            continue
        for k, leg, sealed in differing:  # every leg that differs, in leg order
            leg_sort = SortKey(False, book_id, no, 10, entry_id, k)
            subject = f"entry {entry_id} leg {k}"
            if sealed is None and leg is not None:
                add(
                    leg_sort,
                    "leg_added",
                    subject,
                    f"was not sealed (seal {no} holds {len(se.leg_hashes)} leg(s) of this entry); now: account "
                    f"{leg.account_code!r} (id {leg.account_id}), amount {leg.amount} {leg.currency}",
                )
            elif leg is None:
                add(leg_sort, "leg_missing", subject, f"was sealed in seal {no} but is not in the journal (deleted)")
            else:
                add(
                    leg_sort,
                    "leg_changed",
                    subject,
                    f"differs from what seal {no} holds; now: account {leg.account_code!r} (id {leg.account_id}), "
                    f"amount {leg.amount} {leg.currency}, account_seq {leg.account_seq or 'NULL'}, balance_after "
                    f"{leg.balance_after or 'NULL'}",
                )

    # 3. Entries no seal holds although the chain already covers their id.
    for (book_id, entry_id), _e in sorted(entries.items()):
        if (book_id, entry_id) in sealed_keys:
            continue
        if entry_id > watermark:
            report.unsealed += 1
            continue
        covering = [(no, lo, hi) for no, lo, hi in ranges.get(book_id, []) if lo < entry_id <= hi]
        if covering:
            no, lo, hi = covering[0]
            detail = (
                f"is not sealed, but seal {no} covers entries ({lo}, {hi}] of this book: it was added after sealing"
            )
            add(SortKey(False, book_id, no, 10, entry_id), "entry_unsealed", f"entry {entry_id}", detail)
        else:
            detail = f"is not sealed, but every entry up to {watermark} has been sealed: it was added after sealing"
            add(SortKey(False, book_id, None, 10, entry_id), "entry_unsealed", f"entry {entry_id}", detail)

    # 4. Every balance recomputed from the postings.
    for sort, kind, subject, detail in _books_check(data, entries, legs_of):
        add(sort, kind, subject, detail)

    found.sort(key=lambda x: (*x[0].key(), x[1].kind, x[1].subject, x[1].detail))
    report.findings = list(data.problems) + [f for _, f in found]
    report.books = len(data.books)
    report.seals = len(data.seals)
    report.entries = len(data.entries)
    report.sealed = len(sealed_keys & set(entries))
    report.sealed_through = watermark
    return report


def _books_check(
    data: ExportData, entries: Mapping[tuple[int, int], Entry], legs_of: Mapping[tuple[int, int], list[Leg]]
) -> Iterator[tuple[SortKey, str, str, str]]:
    """The balance part of ledger.books_check(), offline: currency sums, balanced entries, references, each
    account's balance and posting count, running balances."""

    def at(book_id: int) -> SortKey:
        return SortKey(True, book_id, None, 100, None)

    sums: dict[tuple[int, str], int] = defaultdict(int)
    per_account: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    statement: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for (book_id, entry_id), legs in sorted(legs_of.items()):
        if (book_id, entry_id) not in entries:
            for p in legs:
                yield at(book_id), "books:posting_refs", f"entry {entry_id} leg {p.leg}", "entry does not exist"
        by_currency: dict[str, int] = defaultdict(int)
        for p in legs:
            amount = int(p.amount)
            by_currency[p.currency] += amount
            sums[(book_id, p.currency)] += amount
            acc = data.accounts.get((p.book_id, p.account_id))
            if acc is None:
                detail = f"account {p.account_id} does not exist"
                yield at(book_id), "books:posting_refs", f"entry {entry_id} leg {p.leg}", detail
            elif acc.get("currency") != p.currency:
                detail = f"currency {p.currency} but account is in {acc.get('currency')}"
                yield at(book_id), "books:posting_refs", f"entry {entry_id} leg {p.leg}", detail
            totals = per_account[(book_id, int(p.account_id))]
            totals[0] += amount
            totals[1] += 1
            seq_text = p.account_seq or p.sequenced_account_seq
            after_text = p.balance_after if p.account_seq is not None else p.sequenced_balance_after
            if seq_text is not None and after_text is not None:
                statement[(book_id, int(p.account_id))].append((int(seq_text), int(after_text), amount))
        if (book_id, entry_id) in entries:
            bad = sorted((c, s) for c, s in by_currency.items() if s != 0)
            if bad:
                yield (
                    at(book_id),
                    "books:entry_balanced",
                    f"entry {entry_id}",
                    f"legs in {bad[0][0]} sum to {bad[0][1]}",
                )
            elif len(legs) < 2:
                yield at(book_id), "books:entry_balanced", f"entry {entry_id}", f"has {len(legs)} legs"
    for book_id, entry_id in sorted(entries):
        if (book_id, entry_id) not in legs_of:
            yield at(book_id), "books:entry_balanced", f"entry {entry_id}", "has 0 legs"
    for (book_id, currency), total in sorted(sums.items()):
        if total != 0:
            yield at(book_id), "books:currency_sum", currency, f"postings sum to {total}"
    for (book_text, account_text), acc in sorted(data.accounts.items(), key=lambda x: (int(x[0][0]), int(x[0][1]))):
        book_id, account_id = int(book_text), int(account_text)
        total, n = per_account.get((book_id, account_id), [0, 0])
        balance = acc.get("debit_balance")
        if balance is None or int(balance) != total or int(acc.get("postings", -1)) != n:
            detail = f"balance {balance} with {acc.get('postings')} postings; postings sum to {total}, count {n}"
            yield at(book_id), "books:account_balance", str(acc.get("code")), detail
        running = 0
        for seq, after, amount in sorted(statement.get((book_id, account_id), [])):
            running += amount
            if after != running:
                detail = f"balance_after {after}, expected {running}"
                yield at(book_id), "books:running_balance", f"{acc.get('code')} seq {seq}", detail
                running = after


def verify_file(path: Path) -> Report:
    """Read and verify an export file offline (no database)."""
    return verify_data(read_export(iter_lines(path)))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dualbook.audit.verify FILE``: the first divergence (or a summary); exit 0 only if all holds."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m dualbook.audit.verify EXPORT.jsonl", file=sys.stderr)
        return 2
    report = verify_file(Path(args[0]))
    if report.ok:
        print(
            f"ok: {report.books} book(s), {report.seals} seal(s), {report.sealed} of {report.entries} entries sealed "
            f"(through entry {report.sealed_through}), every balance recomputed"
        )
        return 0
    print(f"FIRST DIVERGENCE: {report.findings[0].line()}")
    if len(report.findings) > 1:
        print(f"({len(report.findings) - 1} further finding(s))")
    return 1


if __name__ == "__main__":
    sys.exit(main())
