"""`dualbook outcome KEY`: what became of an idempotency key -- posted, refused (and why), or unknown."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dualbook.cli.common import handle_errors, ledger_options, open_ledger
from dualbook.cli.output import echo_json, print_fields


@click.command()
@click.argument("key")
@ledger_options
@handle_errors
def outcome(key: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Say what became of an idempotency key, from the key alone.

    After a write whose answer was lost (a timeout, a dropped connection), this resolves it without re-sending
    the request: "posted" with its entry id, "refused" with the recorded refusal (every later call with the key
    gets the same refusal), or "unknown" (no call with the key has committed: the key is unused, sending the
    request again is safe). Reads as the reader role. Exits 0 whatever the status: read it from the output
    (--json: {"key", "status", "entry_id", "recorded_at", "error": {"code", "message", "detail", "hint"}}).

    \b
    Example:
        dualbook outcome payment:2026-12-05:17
        dualbook outcome payment:2026-12-05:17 --json
    """
    with open_ledger(datadir, book, "reader") as ledger:
        o = ledger.get_outcome(key)
    error = None
    if o.error_code is not None:
        detail = json.loads(o.error_detail) if o.error_detail else None
        error = {"code": o.error_code, "message": o.error_message, "detail": detail, "hint": o.error_hint}
    if as_json:
        echo_json(
            {
                "key": key,
                "book": book,
                "status": o.status,
                "entry_id": o.entry_id,
                "recorded_at": o.recorded_at.isoformat() if o.recorded_at else None,
                "error": error,
            }
        )
        return
    print_fields(
        [
            ("Key", key),
            ("Book", book),
            ("Status", o.status),
            ("Entry", o.entry_id),
            ("Recorded at", o.recorded_at.isoformat() if o.recorded_at else None),
            ("Refused with", f"{o.error_code} {o.error_message}" if o.error_code else None),
            ("Detail", o.error_detail),
            ("Hint", o.error_hint),
        ]
    )
