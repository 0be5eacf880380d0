"""The documented exit codes: one list, shown by `dualbook --help` and in docs/cli.md (a test compares them)."""

from __future__ import annotations

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "success (a replay of an already-posted request is a success)"),
    (1, "no: `check` or `audit verify` found a problem, `db status` not running, `revert` kept the data"),
    (2, "usage error (bad options, arguments or documents)"),
    (3, "configuration or connection error"),
    (4, "embedded cluster error (also `db failover` or `db restore` refused: nothing changed)"),
    (5, "validation error: the request itself is wrong (LD1xx)"),
    (6, "conflict with the ledger's state (LD2xx)"),
    (7, "infrastructure or unexpected database error (LD3xx, retries exhausted, other SQLSTATEs)"),
    (8, "busy: another sequencer or sealer holds the lock; nothing done, run again later"),
)


def help_block(indent: str = "    ") -> str:
    """The list as the root --help shows it: a click \\b block (lines kept as they are), indented like the
    docstring it goes into."""
    lines = ["\b", "Exit codes:", *(f"  {code}  {text}" for code, text in EXIT_CODES)]
    return f"\n{indent}".join(lines)
