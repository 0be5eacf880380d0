"""`dualbook post --batch FILE`: many entries from a file of JSON lines, through Ledger.post_entries."""

from __future__ import annotations

import io
import sys
import uuid
from pathlib import Path
from typing import IO, Any

import click

from dualbook.calls import BatchResult
from dualbook.cli.common import exit_code, open_ledger
from dualbook.cli.documents import read_document
from dualbook.cli.output import Col, echo, echo_json, print_table
from dualbook.errors import LedgerError

#: entries per post_entries call: the database's limit per batch (LD110)
CHUNK = 1000


def read_batch(stream: IO[str]) -> list[tuple[int, dict[str, Any], bool]]:
    """(line number, entry document, key generated) per non-blank line; each line has the shape of `post --file`
    (checked here: a malformed line is a usage error naming the line, and nothing is posted)."""
    out = []
    for n, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            doc = read_document(io.StringIO(line))
        except click.BadParameter as exc:
            raise click.BadParameter(f"line {n}: {exc.message}", param_hint="'--batch'") from exc
        generated = doc.get("key") is None
        if generated:
            doc["key"] = f"cli:{uuid.uuid4()}"
        out.append((n, doc, generated))
    if not out:
        raise click.BadParameter("no entries (one JSON document per line)", param_hint="'--batch'")
    return out


def _row(line: int, key: str, generated: bool, r: BatchResult) -> dict[str, Any]:
    return {
        "line": line,
        "key": key,
        "key_generated": generated,
        "status": r.status,
        "entry_id": r.entry_id,
        "created": r.created,
        "recorded_at": r.recorded_at,
        "error_code": r.error_code,
        "error_message": r.error_message,
        "error_detail": r.error_detail,
    }


def post_batch(stream: IO[str], atomic: bool, book: str, datadir: Path | None, as_json: bool) -> None:
    """Post every line's entry; print one result per line; exit with the first refusal's exit code, if any."""
    entries = read_batch(stream)
    chunks = [entries] if atomic else [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)]
    rows: list[dict[str, Any]] = []
    outcomes: list[BatchResult] = []
    with open_ledger(datadir, book) as ledger:
        for chunk in chunks:
            try:
                results = ledger.post_entries([doc for _, doc, _ in chunk], atomic=atomic)
            except LedgerError as exc:
                position = exc.context.get("entry")
                if atomic and isinstance(position, int) and 1 <= position <= len(chunk):
                    exc.message = f"line {chunk[position - 1][0]}: {exc.message}; nothing was posted"
                    exc.args = (exc.message,)
                raise
            rows += [_row(n, doc["key"], gen, r) for (n, doc, gen), r in zip(chunk, results, strict=True)]
            outcomes += results
    if as_json:
        echo_json(rows)
    else:
        print_table(
            [Col("Line", right=True), Col("Key"), Col("Status"), Col("Entry", right=True), Col("Error")],
            [
                (
                    r["line"],
                    r["key"],
                    r["status"],
                    r["entry_id"],
                    f"{r['error_message']} ({r['error_code']})" if r["error_code"] else None,
                )
                for r in rows
            ],
        )
        counts = {s: sum(r["status"] == s for r in rows) for s in ("posted", "replayed", "refused", "rejected")}
        echo(", ".join(f"{n} {s}" for s, n in counts.items()), err=True)
        if any(r["key_generated"] for r in rows):
            click.echo("some lines had no key: generated keys are shown; add keys to make a rerun safe", err=True)
    first = next((r.error for r in outcomes if r.error is not None), None)
    if first is not None:
        sys.exit(exit_code(first))
