"""``dualbook audit``: seal the journal, verify it (in the database, or an export offline), export it, show the
chains (docs/audit.md, docs/cli.md). Registered on the root group by :mod:`dualbook.cli.main`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from dualbook.audit import journal as audit
from dualbook.audit import verify as auditspec
from dualbook.audit.journal import SealResult
from dualbook.audit.verify import Report
from dualbook.cli.common import BUSY_HINT, EXIT_BUSY, EXIT_FAILED, datadir_option, handle_errors, open_ledger
from dualbook.cli.output import Col, echo, echo_json, print_table

json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group()
def audit_group() -> None:
    """The tamper-evident journal: seal it into hash chains, verify it, export it for an auditor.

    Each book's entries are sealed, in id order, into a chain of seals (SHA-256, a Merkle root per seal);
    `verify` recomputes every hash and balance and names the first divergence. See docs/audit.md.

    \b
    Example:
        dualbook audit seal --every 1          # the sealer, one pass a second
        dualbook audit verify                  # everything, in the database
        dualbook audit export --out ledger.jsonl
        dualbook audit verify --file ledger.jsonl    # offline: no database
        dualbook audit verify --anchor ledger.jsonl  # is the export still in the database, unchanged?
    """


def _seal_text(r: SealResult) -> str:
    if r.status == "sealed":
        what = "entry" if r.entries == 1 else "entries"
        return f"sealed {r.entries} {what} into {r.seals} seal(s), through entry {r.sealed_through}"
    if r.status == "idle":
        return f"nothing new to seal (sealed through entry {r.sealed_through})"
    if r.status == "busy":
        return "another sealer is running; nothing done"
    pids = ", ".join("a prepared transaction" if p is None else str(p) for p in r.waiting_for)
    return f"waiting: transaction(s) that may still commit an older entry are open (pid {pids}); nothing sealed"


def _seal_json(r: SealResult) -> dict[str, Any]:
    return {
        "status": r.status,
        "entries": r.entries,
        "seals": r.seals,
        "sealed_through": r.sealed_through,
        "waiting_for": r.waiting_for,
    }


@audit_group.command("seal")
@datadir_option
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Keep running: one pass every SECONDS (with --json: one JSON line per pass).",
)
@click.option("--passes", type=click.IntRange(min=1), default=None, help="With --every: stop after this many passes.")
@click.option(
    "--max",
    "max_entries",
    type=click.IntRange(min=1),
    default=audit.DEFAULT_MAX,
    show_default=True,
    help="Entries per call of the sealer (a pass calls it again while a call fills it).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0, max=600),
    default=audit.DEFAULT_WAIT_MS / 1000,
    show_default=True,
    metavar="SECONDS",
    help="How long a call waits for open transactions that may still commit an older entry.",
)
@json_flag
@handle_errors
def seal(
    datadir: Path | None, every: float | None, passes: int | None, max_entries: int, wait: float, as_json: bool
) -> None:
    """Seal committed entries into each book's hash chain (one pass, or every SECONDS).

    Only entries that no open transaction can precede any more are sealed, oldest id first; an open
    transaction holding an older id makes a pass wait up to --wait, then leave the rest for the next pass.
    Postings never wait for the sealer. One pass exits 8 (busy) when another sealer holds the lock; with
    --every such a pass is reported and the next one tries again. Runs as dualbook_sequencer, the ledger's
    operations role (DUALBOOK_SEQUENCER_URL, default DATABASE_URL; docs/security.md).

    \b
    Example:
        dualbook audit seal
        dualbook audit seal --every 1
    """
    if passes is not None and every is None:
        raise click.UsageError("--passes needs --every")
    wait_ms = round(wait * 1000)
    with open_ledger(datadir, "default", "sequencer") as ledger:
        if every is None:
            r = audit.seal_pass(ledger, max_entries, wait_ms)
            if as_json:
                echo_json(_seal_json(r))
            elif r.status == "busy":
                echo(f"dualbook: busy: {_seal_text(r)} {BUSY_HINT}", err=True)
            else:
                echo(_seal_text(r))
            if r.status == "busy":
                sys.exit(EXIT_BUSY)
            return
        done = 0
        while passes is None or done < passes:
            started = time.monotonic()
            r = audit.seal_pass(ledger, max_entries, wait_ms)
            done += 1
            if as_json:  # one line per pass (JSON Lines), flushed, for a log shipper
                click.echo(json.dumps(_seal_json(r)))
            elif r.status != "idle":
                echo(_seal_text(r))
            if passes is None or done < passes:
                time.sleep(audit.wait_interval(every, started))


def _summary(report: Report) -> str:
    return (
        f"ok: {report.books} book(s), {report.seals} seal(s), {report.sealed} of {report.entries} entries sealed "
        f"(through entry {report.sealed_through}; {report.entries - report.sealed} not sealed yet); every hash, "
        "seal and balance recomputed"
    )


def _report_json(report: Report, source: str) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "source": source,
        "first_divergence": report.findings[0].as_json() if report.findings else None,
        "findings": [f.as_json() for f in report.findings],
        "books": report.books,
        "seals": report.seals,
        "entries": report.entries,
        "sealed": report.sealed,
        "sealed_through": report.sealed_through,
        "heads": report.heads,
    }


@audit_group.command("verify")
@datadir_option
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Verify this export offline, with no database.",
)
@click.option(
    "--anchor",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Also check that the database still holds this earlier export unchanged (a cut-back tail, a rewrite).",
)
@click.option("--all", "show_all", is_flag=True, help="List every finding, not only the first divergence.")
@json_flag
@handle_errors
def verify(datadir: Path | None, file: Path | None, anchor: Path | None, show_all: bool, as_json: bool) -> None:
    """Recompute every entry hash, seal and balance; exit 0 only if all of it holds.

    Without --file: in the database (ledger.audit_verify(): the chains, every sealed entry against the
    journal, entries added after sealing, books_check()). With --file: the same checks on an export, in
    plain Python, without a database. Prints the first divergence precisely (which book, seal, entry, leg, and
    what differs); exit 1 if there is any. Runs as dualbook_auditor (DUALBOOK_AUDITOR_URL, default
    DATABASE_URL; docs/security.md).

    \b
    Example:
        dualbook audit verify
        dualbook audit verify --file ledger.jsonl --all
        dualbook audit verify --anchor ledger-2026-11-01.jsonl
    """
    if file is not None and anchor is not None:
        raise click.UsageError("--file verifies an export offline; --anchor compares one with the database: not both")
    if file is not None:
        report = auditspec.verify_file(file)
        source = str(file)
    else:
        with open_ledger(datadir, "default", "auditor") as ledger:
            if anchor is not None:
                report = audit.verify_against(ledger, auditspec.read_export(auditspec.iter_lines(anchor)))
                source = f"database, anchored to {anchor}"
            else:
                report = audit.verify_database(ledger)
                source = "database"
    if as_json:
        echo_json(_report_json(report, source))
    elif report.ok:
        echo(_summary(report))
        for book, head in report.heads.items():
            echo(f"  head of {book}: {head}")
    else:
        echo(f"FIRST DIVERGENCE: {report.findings[0].line()}")
        if show_all:
            print_table(
                [Col("#", right=True), Col("Kind"), Col("Book"), Col("Subject"), Col("Detail")],
                [(n, f.kind, f.book, f.subject, f.detail) for n, f in enumerate(report.findings, start=1)],
            )
        elif len(report.findings) > 1:
            echo(f"{len(report.findings) - 1} further finding(s); --all lists them")
    if not report.ok:
        sys.exit(EXIT_FAILED)


@audit_group.command("export")
@datadir_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    required=True,
    help="The file to write (JSON Lines, docs/audit.md); '-' for stdout.",
)
@handle_errors
def export(datadir: Path | None, out: Path) -> None:
    """Write the whole ledger as one consistent, self-contained export for an auditor.

    Currencies, books, accounts, every seal, every sealed entry's hashes, every entry and posting, from one
    snapshot, with a manifest and a closing SHA-256. `dualbook audit verify --file` checks it offline.
    Runs as dualbook_auditor (DUALBOOK_AUDITOR_URL, default DATABASE_URL).

    \b
    Example:
        dualbook audit export --out ledger-$(date +%F).jsonl
    """
    with open_ledger(datadir, "default", "auditor") as ledger:
        if str(out) == "-":
            audit.export(ledger, sys.stdout.buffer)
            return
        tmp = out.with_name(out.name + ".partial")
        try:
            with tmp.open("wb") as f:
                summary = audit.export(ledger, f)
            tmp.replace(out)
        except OSError as exc:
            raise click.FileError(str(out), hint=str(exc)) from exc
        finally:
            tmp.unlink(missing_ok=True)
    click.echo(
        f"exported {summary.records} records ({summary.entries} entries, {summary.seals} seals) to {out}; "
        f"sha256 {summary.sha256}"
    )


@audit_group.command("status")
@datadir_option
@json_flag
@handle_errors
def status(datadir: Path | None, as_json: bool) -> None:
    """Show each book's chain: seals, how far it reaches, entries not sealed yet, and its head hash.

    Publish the head hashes (or keep exports) outside the database: a chain is only as tamper-evident as
    its newest seal is known to someone else. Runs as dualbook_auditor (DUALBOOK_AUDITOR_URL, default
    DATABASE_URL).

    \b
    Example:
        dualbook audit status --json
    """
    with open_ledger(datadir, "default", "auditor") as ledger:
        books = audit.status(ledger)
    if as_json:
        echo_json(
            [
                {
                    "book": b.book,
                    "seals": b.seals,
                    "sealed_through": b.sealed_through,
                    "sealed": b.sealed,
                    "entries": b.entries,
                    "head": b.head,
                }
                for b in books
            ]
        )
        return
    print_table(
        [
            Col("Book"),
            Col("Seals", right=True),
            Col("Sealed through", right=True),
            Col("Sealed", right=True),
            Col("Not yet", right=True),
            Col("Head"),
        ],
        [(b.book, b.seals, b.sealed_through, b.sealed, b.entries - b.sealed, b.head) for b in books],
    )
