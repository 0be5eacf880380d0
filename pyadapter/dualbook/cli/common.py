"""Shared by every command: the documented exit codes, error lines, the shared options, opening a Ledger."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg

from dualbook.cli.output import safe
from dualbook.db.config import check_connect, resolve
from dualbook.db.migrate import DataLossRefused
from dualbook.db.roles import Purpose
from dualbook.errors import (
    ClusterError,
    ConflictError,
    DualbookError,
    InvalidArgument,
    LedgerError,
    ValidationError,
)
from dualbook.ledger import Ledger
from dualbook.money import parse_amount
from dualbook.reads import ReadPolicy

F = TypeVar("F", bound=Callable[..., Any])

# Documented exit codes (docs/cli.md): one per error class.
EXIT_OK = 0
EXIT_FAILED = 1  # `check` found violations; `db status`: not running; `revert` refused to destroy data
EXIT_USAGE = 2  # click's own: bad options or arguments
EXIT_CONFIG = 3  # configuration / cannot connect
EXIT_CLUSTER = 4  # the embedded cluster could not be created, started or stopped
EXIT_VALIDATION = 5  # ValidationError: the request itself is wrong
EXIT_CONFLICT = 6  # ConflictError: the request clashes with the ledger's state
EXIT_INFRASTRUCTURE = 7  # InfrastructureError (NotSerializable, RetriesExhausted, ...) or another database error
EXIT_BUSY = 8  # a one-shot `sequencer` or `audit seal` found another run holding the worker's lock

#: The hint printed with a busy worker: only sessions allowed to run the worker can hold its lock.
BUSY_HINT = (
    "hint: another session of dualbook_sequencer (or the owner) is running it; see pg_stat_activity and "
    "pg_locks on ledger_private.worker_lock, and run this again when it has finished."
)

#: SQLSTATEs that usually mean the ledger schema is not deployed in the database.
_NOT_DEPLOYED = frozenset({"3F000", "42883", "42P01"})


def exit_code(exc: BaseException) -> int:
    """The documented exit code for an error."""
    if isinstance(exc, DataLossRefused):
        return EXIT_FAILED
    if isinstance(exc, ClusterError):
        return EXIT_CLUSTER
    if isinstance(exc, ValidationError):
        return EXIT_VALIDATION
    if isinstance(exc, ConflictError):
        return EXIT_CONFLICT
    if isinstance(exc, (LedgerError, psycopg.Error)):
        return EXIT_INFRASTRUCTURE
    return EXIT_CONFIG  # ConfigError and any other DualbookError


def _one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(exc: BaseException) -> str:
    """'dualbook: error: <message> (<SQLSTATE> <name>, account: A, leg: N) hint: H' — always one line."""
    if isinstance(exc, LedgerError):
        tags = [f"{exc.code} {exc.name}" if exc.code else exc.name]
        if exc.account is not None:
            tags.append(f"account: {exc.account}")
        if exc.leg is not None:
            tags.append(f"leg: {exc.leg}")
        text = f"{exc.message} ({', '.join(tags)})"
        if exc.hint:
            text += f" hint: {exc.hint}"
    elif isinstance(exc, psycopg.Error):
        message = exc.diag.message_primary or str(exc) or type(exc).__name__
        state = exc.sqlstate
        text = f"{message} ({state} {type(exc).__name__})" if state else f"{message} ({type(exc).__name__})"
        if state in _NOT_DEPLOYED:
            text += " hint: is the ledger schema deployed? Run 'dualbook deploy'."
        elif state == "42501":
            text += (
                " hint: this connection's role may not do that: writes use DATABASE_URL (dualbook_app), reads "
                "DUALBOOK_READER_URL (dualbook_reader), see docs/security.md."
            )
    else:
        text = str(exc) or type(exc).__name__
    return "dualbook: error: " + safe(_one_line(text))


def handle_errors(func: F) -> F:
    """Turn dualbook and database errors into one line on stderr and a documented exit code (no traceback,
    unless the root --debug flag is given)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DualbookError, psycopg.Error) as exc:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().params.get("debug"):
                raise
            click.echo(error_line(exc), err=True)
            sys.exit(exit_code(exc))

    return wrapper  # type: ignore[return-value]


# --- shared options (every read command gets the same flags) -----------------------------------------------
datadir_option = click.option(
    "--datadir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Embedded cluster data directory (default: $DUALBOOK_DATADIR or ./.dualbook/pgdata).",
)

book_option = click.option(
    "--book",
    default="default",
    show_default=True,
    envvar="DUALBOOK_BOOK",
    show_envvar=True,
    help="The book (a separate ledger) to work in.",
)

json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: amounts as integers of minor units plus *_formatted strings in major units.",
)


def ledger_options(func: F) -> F:
    """--book, --datadir and --json: the options of every ledger command."""
    return book_option(datadir_option(json_option(func)))


#: An entry id: a positive 64-bit integer (the SQL API's bigint); anything else is a usage error (exit 2).
ENTRY_ID = click.IntRange(min=1, max=2**63 - 1)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def load_json(text: str) -> Any:
    """Strict JSON text -> Python, or ValueError with a one-line reason: NaN and Infinity (which Python's json
    accepts and PostgreSQL refuses), numbers of more than 4300 digits and nesting deeper than Python can follow
    are errors of the document, not tracebacks."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("not valid JSON here: nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None


def json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any] | None:
    """Option callback: a JSON object given as text on the command line."""
    if value is None:
        return None
    try:
        parsed = load_json(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc
    if not isinstance(parsed, dict):
        raise click.BadParameter("""must be a JSON object, e.g. '{"source": "card"}'""", ctx, param)
    return parsed


def read_target() -> tuple[str | None, ReadPolicy]:
    """The root options --read-url / --max-lag (DUALBOOK_READ_URL, DUALBOOK_MAX_LAG): the read commands' replica
    and how fresh it must be (default: it has replayed everything the primary had when the read started)."""
    ctx = click.get_current_context(silent=True)
    params = ctx.find_root().params if ctx is not None else {}
    max_lag = params.get("max_lag")
    if max_lag is None:
        return params.get("read_url"), ReadPolicy()
    return params.get("read_url"), ReadPolicy(read_your_writes=False, max_lag=float(max_lag))


@contextmanager
def open_ledger(datadir: Path | None, book: str, purpose: Purpose = "app") -> Iterator[Ledger]:
    """A Ledger on DATABASE_URL, else on the running embedded cluster (never started here), connected as the
    role for `purpose`: write commands as the app, read commands as the reader (docs/security.md). Read commands
    read the replica of --read-url (DUALBOOK_READ_URL) when one is given."""
    target = resolve(datadir)
    check_connect(target, purpose)
    read_url, policy = read_target() if purpose == "reader" else (None, ReadPolicy())
    with Ledger.connect(
        target.url_for(purpose), max_size=2, book=book, read_url=read_url, read_policy=policy
    ) as ledger:
        yield ledger


def parse_major(text: str, exponent: int, what: str, context: dict[str, Any] | None = None) -> int:
    """Major-unit text -> minor units, exactly; the error names what was being parsed."""
    try:
        return parse_amount(text, exponent)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{what}: {exc.message}", context=context or {}) from exc
