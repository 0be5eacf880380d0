"""The `dualbook` command line: the embedded cluster, migrations, and the ledger's API for people and scripts.

Every ledger command is a thin shell over :class:`dualbook.Ledger`: the database validates every request and
the CLI only translates text to calls (amounts in major units -> exact integers of minor units) and results to
tables or JSON (see docs/cli.md). Errors become one line on stderr and a documented exit code.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar

import click
import psycopg

from dualbook import __version__, migrate
from dualbook import bench as benchmod
from dualbook.calls import Balance, BalanceAssertion, Entry, Leg, PostResult
from dualbook.cluster import Cluster, default_datadir
from dualbook.config import check_connect, resolve
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
from dualbook.output import Col, amount, amount_fields, echo_json, print_fields, print_table
from dualbook.roles import PURPOSES, Purpose

F = TypeVar("F", bound=Callable[..., Any])

# Documented exit codes (docs/cli.md): one per error class.
EXIT_OK = 0
EXIT_FAILED = 1  # `check` found violations; `db status`: the cluster is not running
EXIT_USAGE = 2  # click's own: bad options or arguments
EXIT_CONFIG = 3  # configuration / cannot connect
EXIT_CLUSTER = 4  # the embedded cluster could not be created, started or stopped
EXIT_VALIDATION = 5  # ValidationError: the request itself is wrong
EXIT_CONFLICT = 6  # ConflictError: the request clashes with the ledger's state
EXIT_INFRASTRUCTURE = 7  # InfrastructureError (NotSerializable, RetriesExhausted, ...) or another database error

#: SQLSTATEs that usually mean the ledger schema is not deployed in the database.
_NOT_DEPLOYED = frozenset({"3F000", "42883", "42P01"})


def exit_code(exc: BaseException) -> int:
    """The documented exit code for an error."""
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
    return "dualbook: error: " + _one_line(text)


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


def json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any] | None:
    """Option callback: a JSON object given as text on the command line."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", ctx, param) from exc
    if not isinstance(parsed, dict):
        raise click.BadParameter("""must be a JSON object, e.g. '{"source": "card"}'""", ctx, param)
    return parsed


@contextmanager
def open_ledger(datadir: Path | None, book: str, purpose: Purpose = "app") -> Iterator[Ledger]:
    """A Ledger on DATABASE_URL, else on the running embedded cluster (never started here), connected as the
    role for `purpose`: write commands as the app, read commands as the reader (docs/security.md)."""
    target = resolve(datadir)
    check_connect(target, purpose)
    with Ledger.connect(target.url_for(purpose), max_size=2, book=book) as ledger:
        yield ledger


def _parse_major(text: str, exponent: int, what: str, context: dict[str, Any] | None = None) -> int:
    """Major-unit text -> minor units, exactly; the error names what was being parsed."""
    try:
        return parse_amount(text, exponent)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{what}: {exc.message}", context=context or {}) from exc


# --- root ---------------------------------------------------------------------------------------------------
class RootGroup(click.Group):
    """The root group. Command groups that live in their own modules (and import this one for the shared
    options) are imported when first used, so neither module imports the other at import time."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {"audit": ("dualbook.auditcli", "audit_group")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dualbook")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
def main(debug: bool) -> None:
    """dualbook: a strongly-consistent double-entry ledger on PostgreSQL.

    Uses the server in DATABASE_URL when set, else an embedded cluster that `dualbook db start` runs.
    Write commands connect as the application role (DATABASE_URL), read commands as the reader
    (DUALBOOK_READER_URL, default DATABASE_URL), deploy as the migrator (DUALBOOK_MIGRATOR_URL, default
    DATABASE_URL); the embedded cluster derives each (docs/security.md).
    Amounts on the command line are in major units of the account's currency (12.34 USD); in JSON they are
    integers of minor units (1234). Every read command takes --json.

    \b
    Exit codes:
      0  ok
      1  `check` found violations; `db status`: the cluster is not running
      2  usage error (bad options or arguments)
      3  configuration or connection error
      4  embedded cluster error
      5  validation error: the request itself is wrong (LD1xx)
      6  conflict with the ledger's state (LD2xx)
      7  infrastructure or unexpected database error (LD3xx, retries exhausted, other SQLSTATEs)

    \b
    Example:
        dualbook db start && dualbook deploy
        dualbook account create bank --currency USD --type asset
        dualbook account create wallet:1 --currency USD --type liability --lower-limit 0
        dualbook post --key topup:1 --debit bank 100 --credit wallet:1 100
        dualbook balance wallet:1
    """


# --- db -----------------------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Manage the embedded PostgreSQL cluster.

    \b
    Example:
        dualbook db start; dualbook db url; dualbook db stop
    """


def _cluster(datadir: Path | None) -> Cluster:
    return Cluster(datadir or default_datadir())


@db.command("start")
@datadir_option
@handle_errors
def db_start(datadir: Path | None) -> None:
    """Create (if needed) and start the embedded cluster; prints its URL.

    \b
    Example:
        dualbook db start --datadir /var/lib/dualbook/pgdata
    """
    target = resolve(datadir, start=True)
    assert target.embedded is not None
    click.echo(f"running: {target.embedded.datadir} -> {target.url}")


@db.command("stop")
@datadir_option
@handle_errors
def db_stop(datadir: Path | None) -> None:
    """Stop the embedded cluster.

    \b
    Example:
        dualbook db stop
    """
    cluster = _cluster(datadir)
    click.echo("stopped" if cluster.stop() else f"not running: {cluster.datadir}")


@db.command("status")
@datadir_option
@handle_errors
def db_status(datadir: Path | None) -> None:
    """Say whether the embedded cluster runs (exit 0) or not (exit 1).

    \b
    Example:
        dualbook db status || dualbook db start
    """
    cluster = _cluster(datadir)
    if cluster.running():
        click.echo(f"running: {cluster.datadir} -> {cluster.url()} (pid {cluster.postmaster_pid()})")
    else:
        click.echo(f"not running: {cluster.datadir}")
        sys.exit(EXIT_FAILED)


@db.command("url")
@datadir_option
@click.option(
    "--as",
    "purpose",
    type=click.Choice(PURPOSES),
    default="migrator",
    show_default=True,
    help="Whose URL: the migrator (on the embedded cluster its superuser), the app, the reader, the sequencer "
    "or the auditor role.",
)
@handle_errors
def db_url(datadir: Path | None, purpose: Purpose) -> None:
    """Print a database URL: the running embedded cluster's for that role, else (DATABASE_URL set) the
    role's variable (DUALBOOK_MIGRATOR_URL, ...) or DATABASE_URL.

    \b
    Example:
        psql "$(dualbook db url)"
        psql "$(dualbook db url --as app)"
    """
    click.echo(resolve(datadir).url_for(purpose))


# --- migrations ---------------------------------------------------------------------------------------------
@main.command()
@datadir_option
@handle_errors
def deploy(datadir: Path | None) -> None:
    """Deploy every Sqitch change (verified) to the database; starts the embedded cluster if needed.

    Runs as the migrator: DUALBOOK_MIGRATOR_URL, else DATABASE_URL; on the embedded cluster its superuser
    (the first deploy creates the roles).

    \b
    Example:
        dualbook deploy
        DUALBOOK_MIGRATOR_URL=postgresql://dualbook_migrator@db.internal/ledger dualbook deploy
    """
    target = resolve(datadir, start=True)
    check_connect(target, "migrator")
    migrate.deploy(target.url_for("migrator"))


@main.command()
@datadir_option
@click.option("--to", "to", default=None, help="Revert down to this change (default: everything).")
@handle_errors
def revert(datadir: Path | None, to: str | None) -> None:
    """Revert deployed Sqitch changes.

    \b
    Example:
        dualbook revert --to function_read_api
    """
    target = resolve(datadir)
    check_connect(target, "migrator")
    migrate.revert(target.url_for("migrator"), to=to)


@main.command()
@datadir_option
@handle_errors
def status(datadir: Path | None) -> None:
    """Show the deployed Sqitch status of the database.

    \b
    Example:
        dualbook status
    """
    target = resolve(datadir)
    check_connect(target, "migrator")
    migrate.status(target.url_for("migrator"))


@main.command()
@datadir_option
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="How long the concurrent workload runs.",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="How many concurrent client threads post.",
)
@handle_errors
def demo(datadir: Path | None, seconds: float, clients: int) -> None:
    """Run the end-to-end demo: deploy, a concurrent payments workload, a report.

    Starts the embedded cluster (unless DATABASE_URL is set), deploys the schema, runs CLIENTS threads of
    top-ups, payments, refunds, replays and invalid requests for SECONDS, then reports outcomes, retries,
    latency, the trial balance and the books check.

    \b
    Example:
        dualbook demo
        dualbook demo --seconds 5 --clients 16
        DATABASE_URL=postgresql://me@db.internal/ledger dualbook demo
    """
    from dualbook.demo import run_demo

    run_demo(datadir, seconds=seconds, clients=clients)


# --- accounts -----------------------------------------------------------------------------------------------
@main.group()
def account() -> None:
    """Create, list, show and close accounts.

    \b
    Example:
        dualbook account create wallet:1 --currency USD --type liability --lower-limit 0
        dualbook account list --prefix wallet:
    """


def _balance_json(b: Balance, book: str) -> dict[str, Any]:
    return {
        "book": book,
        "account_id": b.account_id,
        "code": b.code,
        "currency": b.currency,
        "exponent": b.exponent,
        "type": b.type,
        "status": b.status,
        **amount_fields("balance", b.balance, b.exponent),
        "postings": b.seq,
        **amount_fields("lower_limit", b.lower_limit, b.exponent),
        **amount_fields("upper_limit", b.upper_limit, b.exponent),
    }


@account.command("create")
@click.argument("code")
@click.option("--currency", required=True, help="Currency or asset code, e.g. USD (see ledger.currencies).")
@click.option(
    "--type",
    "type_",
    required=True,
    metavar="asset|liability|equity|income|expense",
    help="Account type; assets and expenses have debit balances, the others credit balances.",
)
@click.option(
    "--lower-limit",
    metavar="AMOUNT",
    default=None,
    help="Lowest allowed balance in major units (0 = no overdraft). Default: unbounded.",
)
@click.option(
    "--upper-limit", metavar="AMOUNT", default=None, help="Highest allowed balance in major units. Default: unbounded."
)
@click.option("--metadata", callback=json_object, default=None, metavar="JSON", help="A JSON object stored with it.")
@click.option(
    "--deferred",
    is_flag=True,
    help="A hot account without limits (fees, settlement): legs are queued, not applied to one contended row; "
    "run 'dualbook sequencer' to number them.",
)
@ledger_options
@handle_errors
def account_create(
    code: str,
    currency: str,
    type_: str,
    lower_limit: str | None,
    upper_limit: str | None,
    metadata: dict[str, Any] | None,
    deferred: bool,
    book: str,
    datadir: Path | None,
    as_json: bool,
) -> None:
    """Open an account. Idempotent: the same code with the same attributes reports the existing account.

    Balances and limits are the account's normal balance: debit-positive for assets and expenses,
    credit-positive for liabilities, equity and income.

    \b
    Example:
        dualbook account create bank --currency USD --type asset
        dualbook account create wallet:1 --currency USD --type liability --lower-limit 0 \\
            --metadata '{"owner": "alice"}'
        dualbook account create income:fees --currency USD --type income --deferred
    """
    with open_ledger(datadir, book) as ledger:
        lower = upper = None
        exponent = 0  # only used when a limit is given
        if lower_limit is not None or upper_limit is not None:
            exponent = ledger.exponent(currency)
            if lower_limit is not None:
                lower = _parse_major(lower_limit, exponent, "--lower-limit", {"argument": "lower_limit"})
            if upper_limit is not None:
                upper = _parse_major(upper_limit, exponent, "--upper-limit", {"argument": "upper_limit"})
        result = ledger.create_account(
            code, currency, type_, lower_limit=lower, upper_limit=upper, metadata=metadata, deferred=deferred
        )
        if as_json:
            echo_json(
                {
                    "book": book,
                    "account_id": result.account_id,
                    "code": code,
                    "created": result.created,
                    "currency": currency,
                    "type": type_,
                    "deferred": deferred,
                    **amount_fields("lower_limit", lower, exponent),
                    **amount_fields("upper_limit", upper, exponent),
                }
            )
        elif result.created:
            click.echo(f"created account {code} (id {result.account_id}, {currency} {type_})")
        else:
            click.echo(f"account {code} already exists with these attributes (id {result.account_id}); nothing changed")


@account.command("list")
@click.option("--prefix", default="", help="Only accounts whose code starts with this text.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="At most this many.")
@ledger_options
@handle_errors
def account_list(prefix: str, limit: int, book: str, datadir: Path | None, as_json: bool) -> None:
    """List accounts with their balances, in code order.

    \b
    Example:
        dualbook account list
        dualbook account list --prefix wallet: --limit 20 --json
    """
    with open_ledger(datadir, book, "reader") as ledger:
        rows = ledger.list_accounts(prefix=prefix, limit=limit)
        exponents = {r.currency: ledger.exponent(r.currency) for r in rows}
    if as_json:
        echo_json(
            [
                {
                    "book": r.book,
                    "account_id": r.account_id,
                    "code": r.code,
                    "currency": r.currency,
                    "type": r.type,
                    "status": r.status,
                    **amount_fields("balance", r.balance, exponents[r.currency]),
                    "postings": r.postings,
                    **amount_fields("lower_limit", r.lower_limit, exponents[r.currency]),
                    **amount_fields("upper_limit", r.upper_limit, exponents[r.currency]),
                    "deferred": r.deferred,
                    "queued": r.queued,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        click.echo("no accounts" + (f" starting with {prefix!r}" if prefix else ""))
        return
    print_table(
        [
            Col("Code"),
            Col("Currency"),
            Col("Type"),
            Col("Status"),
            Col("Balance", right=True),
            Col("Postings", right=True),
            Col("Lower limit", right=True),
            Col("Upper limit", right=True),
            Col("Queued", right=True),
        ],
        [
            (
                r.code,
                r.currency,
                r.type,
                r.status,
                amount(r.balance, exponents[r.currency]),
                r.postings,
                amount(r.lower_limit, exponents[r.currency]),
                amount(r.upper_limit, exponents[r.currency]),
                f"{r.queued} (deferred)" if r.deferred else "",
            )
            for r in rows
        ],
    )
    if len(rows) == limit:
        click.echo(f"(showing the first {limit}; use --limit or --prefix for more)", err=True)


@account.command("show")
@click.argument("code")
@ledger_options
@handle_errors
def account_show(code: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Show one account: balance, postings, status and limits.

    \b
    Example:
        dualbook account show wallet:1
    """
    with open_ledger(datadir, book, "reader") as ledger:
        b = ledger.get_balance(code)
    if as_json:
        echo_json(_balance_json(b, book))
        return

    def money(minor: int | None) -> str:
        return "unbounded" if minor is None else f"{amount(minor, b.exponent)} {b.currency}"

    print_fields(
        [
            ("Account", b.code),
            ("Book", book),
            ("ID", b.account_id),
            ("Currency", f"{b.currency} (exponent {b.exponent})"),
            ("Type", b.type),
            ("Status", b.status),
            ("Balance", money(b.balance)),
            ("Postings", b.seq),
            ("Lower limit", money(b.lower_limit)),
            ("Upper limit", money(b.upper_limit)),
        ]
    )


@account.command("close")
@click.argument("code")
@ledger_options
@handle_errors
def account_close(code: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Close an account at zero balance; a closed account refuses postings. Closing it again is a no-op.

    \b
    Example:
        dualbook account close wallet:1
    """
    with open_ledger(datadir, book) as ledger:
        closed_at = ledger.close_account(code)
    if as_json:
        echo_json({"book": book, "code": code, "status": "closed", "closed_at": closed_at})
    else:
        click.echo(f"closed account {code} at {closed_at.isoformat()}")


# --- posting ------------------------------------------------------------------------------------------------
DOCUMENT_FIELDS = frozenset({"key", "legs", "description", "metadata", "effective_date", "assertions"})


def _bad_document(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="'--file'")


def read_document(stream: IO[str]) -> dict[str, Any]:
    """Parse and shape-check a posting document (the database validates its content)."""
    try:
        doc = json.load(stream)
    except ValueError as exc:
        raise _bad_document(f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _bad_document("must be a JSON object with 'legs' (and optionally key, description, ...)")
    unknown = sorted(set(doc) - DOCUMENT_FIELDS)
    if unknown:
        raise _bad_document(f"unknown fields {', '.join(unknown)} (known: {', '.join(sorted(DOCUMENT_FIELDS))})")
    legs = doc.get("legs")
    if not isinstance(legs, list) or not all(isinstance(leg, dict) for leg in legs):
        raise _bad_document('\'legs\' must be a JSON array of {"account", "amount", "currency"} objects')
    for name in ("key", "description", "effective_date"):
        if doc.get(name) is not None and not isinstance(doc[name], str):
            raise _bad_document(f"'{name}' must be a string")
    if doc.get("metadata") is not None and not isinstance(doc["metadata"], dict):
        raise _bad_document("'metadata' must be a JSON object")
    assertions = doc.get("assertions")
    if assertions is not None and (
        not isinstance(assertions, list)
        or not all(isinstance(a, dict) and set(a) == {"account", "op", "balance"} for a in assertions)
    ):
        raise _bad_document('\'assertions\' must be a JSON array of {"account", "op", "balance"} objects')
    if isinstance(doc.get("effective_date"), str):
        try:
            doc["effective_date"] = date.fromisoformat(doc["effective_date"])
        except ValueError as exc:
            raise _bad_document(f"'effective_date' must be YYYY-MM-DD: {exc}") from exc
    return doc


def _accounts(ledger: Ledger, codes: Sequence[str]) -> dict[str, Balance]:
    """Each account's state (currency and exponent), looked up once; an unknown account raises UnknownAccount."""
    found: dict[str, Balance] = {}
    for code in codes:
        if code not in found:
            found[code] = ledger.get_balance(code)
    return found


def _balances_json(ledger: Ledger, balances: Mapping[str, int], currencies: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in sorted(balances):
        currency = currencies[code]
        out[code] = {"currency": currency, **amount_fields("balance", balances[code], ledger.exponent(currency))}
    return out


def _print_balances(ledger: Ledger, balances: Mapping[str, int], currencies: Mapping[str, str]) -> None:
    print_table(
        [Col("Account"), Col("Balance after", right=True), Col("Currency")],
        [
            (code, amount(balances[code], ledger.exponent(currencies[code])), currencies[code])
            for code in sorted(balances)
        ],
    )


def _result_json(result: PostResult, key: str, book: str) -> dict[str, Any]:
    return {
        "book": book,
        "entry_id": result.entry_id,
        "key": key,
        "created": result.created,
        "replay": not result.created,
        "recorded_at": result.recorded_at,
        "attempts": result.attempts,
        "recovered": result.recovered,
    }


def _retry_note(result: PostResult) -> str:
    notes = []
    if result.attempts > 1:
        notes.append(f"after {result.attempts} attempts")
    if result.recovered:
        notes.append("the connection was lost during commit; the retry with the same key resolved it")
    return f" ({'; '.join(notes)})" if notes else ""


@main.command()
@click.option(
    "--debit",
    "debits",
    nargs=2,
    multiple=True,
    metavar="ACCOUNT AMOUNT",
    help="A debit leg; AMOUNT in major units of the account's currency. Repeatable.",
)
@click.option(
    "--credit",
    "credits",
    nargs=2,
    multiple=True,
    metavar="ACCOUNT AMOUNT",
    help="A credit leg; AMOUNT in major units of the account's currency. Repeatable.",
)
@click.option(
    "--file",
    "document",
    type=click.File("r"),
    default=None,
    metavar="PATH",
    help="Read the entry as a JSON document (amounts in minor units); '-' reads stdin.",
)
@click.option("--key", default=None, help="Idempotency key (default: a new 'cli:<uuid>', printed).")
@click.option("--description", default=None, help="Free text, up to 1000 characters.")
@click.option("--metadata", callback=json_object, default=None, metavar="JSON", help="A JSON object stored with it.")
@click.option(
    "--effective-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    metavar="YYYY-MM-DD",
    help="Accounting date (default: today, UTC).",
)
@click.option(
    "--assert",
    "asserts",
    nargs=3,
    multiple=True,
    metavar="ACCOUNT OP BALANCE",
    help="Refuse the entry unless ACCOUNT's balance after it is OP (=, >=, <=) BALANCE (major units). Repeatable.",
)
@ledger_options
@handle_errors
def post(
    debits: Sequence[tuple[str, str]],
    credits: Sequence[tuple[str, str]],
    document: IO[str] | None,
    key: str | None,
    description: str | None,
    metadata: dict[str, Any] | None,
    effective_date: datetime | None,
    asserts: Sequence[tuple[str, str, str]],
    book: str,
    datadir: Path | None,
    as_json: bool,
) -> None:
    """Post one balanced entry, all or nothing.

    Give the legs as --debit/--credit ACCOUNT AMOUNT, AMOUNT in major units of the account's currency
    (exact: '1.234' for a USD account is an error); legs are numbered debits first, then credits.
    Or give a JSON document with --file (amounts are integers of minor units, positive = debit,
    negative = credit); options given on the command line override the document's fields:

    \b
        {"key": "payment:8431",
         "legs": [{"account": "wallet:1", "amount": 1250, "currency": "USD"},
                  {"account": "merchant:7", "amount": -1250, "currency": "USD"}],
         "description": "order 8431", "metadata": {"order": 8431},
         "effective_date": "2026-11-26",
         "assertions": [{"account": "wallet:1", "op": ">=", "balance": 0}]}

    The idempotency key makes a retry safe: the same request with the same key writes nothing and is
    reported as a replay. Without --key a new key is generated and printed, so running the command again
    posts again.

    \b
    Example:
        dualbook post --key topup:1 --debit bank 100 --credit wallet:1 100 --description "card top-up"
        dualbook post --debit wallet:1 12.50 --credit merchant:7 12.25 --credit fees 0.25 \\
            --assert wallet:1 '>=' 0
        dualbook post --file payment.json --json
        echo '{"legs": [...]}' | dualbook post --file -
    """
    if document is not None and (debits or credits):
        raise click.UsageError("give the legs either with --debit/--credit or in --file, not both")
    if document is None and not (debits or credits):
        raise click.UsageError("give the legs with --debit/--credit ACCOUNT AMOUNT, or a document with --file")
    doc = read_document(document) if document is not None else {}

    with open_ledger(datadir, book) as ledger:
        legs: list[Leg | Mapping[str, Any]]
        currencies: dict[str, str]
        if document is not None:
            legs = list(doc["legs"])
            currencies = {str(leg.get("account")): str(leg.get("currency")) for leg in doc["legs"]}
            accounts: dict[str, Balance] = {}
        else:
            given = [(acc, text, 1) for acc, text in debits] + [(acc, text, -1) for acc, text in credits]
            accounts = _accounts(ledger, [acc for acc, _, _ in given])
            legs = []
            for n, (acc, text, sign) in enumerate(given, start=1):
                b = accounts[acc]
                minor = _parse_major(text, b.exponent, f"leg {n} ({acc})", {"account": acc, "leg": n})
                legs.append(Leg(acc, sign * minor, b.currency))
            currencies = {acc: b.currency for acc, b in accounts.items()}

        assertions = [BalanceAssertion(**a) for a in doc.get("assertions") or []]
        if asserts:
            accounts.update(_accounts(ledger, [acc for acc, _, _ in asserts if acc not in accounts]))
            for n, (acc, op, text) in enumerate(asserts, start=1):
                expected = _parse_major(text, accounts[acc].exponent, f"--assert {n} ({acc})", {"account": acc})
                assertions.append(BalanceAssertion(acc, op, expected))

        the_key: str | None = key if key is not None else doc.get("key")
        generated = the_key is None
        if the_key is None:
            the_key = f"cli:{uuid.uuid4()}"
        result = ledger.post_entry(
            the_key,
            legs,
            description=description if description is not None else doc.get("description"),
            metadata=metadata if metadata is not None else doc.get("metadata"),
            effective_date=effective_date.date() if effective_date is not None else doc.get("effective_date"),
            assertions=assertions or None,
        )
        if as_json:
            echo_json(
                {
                    **_result_json(result, the_key, book),
                    "key_generated": generated,
                    "balances": _balances_json(ledger, result.balances, currencies),
                }
            )
            return
        if result.created:
            how = " (generated: pass --key to make a retry safe)" if generated else ""
            click.echo(f"posted entry {result.entry_id} with key {the_key}{how}{_retry_note(result)}")
        else:
            click.echo(
                f"replay: key {the_key} was already posted as entry {result.entry_id}; "
                f"nothing was written{_retry_note(result)}"
            )
        _print_balances(ledger, result.balances, currencies)


@main.command()
@click.argument("entry_id", type=int)
@click.option(
    "--key",
    default=None,
    help="Idempotency key of the reversal (default: 'cli:reverse:<ENTRY_ID>', so repeating the command is safe).",
)
@click.option("--reason", default=None, help="Why; stored in the reversal's description and metadata.")
@ledger_options
@handle_errors
def reverse(entry_id: int, key: str | None, reason: str | None, book: str, datadir: Path | None, as_json: bool) -> None:
    """Reverse an entry: post its mirror image, linked to it, at most once.

    Every amount is negated. The reversal is an ordinary posting: it obeys limits and closed accounts.
    Without --key the key is 'cli:reverse:<ENTRY_ID>', so running the same command again is a safe replay.

    \b
    Example:
        dualbook reverse 42 --reason "duplicate charge"
    """
    the_key = key or f"cli:reverse:{entry_id}"
    with open_ledger(datadir, book) as ledger:
        result = ledger.reverse_entry(entry_id, the_key, reason=reason)
        currencies = {leg.account: leg.currency for leg in ledger.get_entry(result.entry_id).legs}
        if as_json:
            echo_json(
                {
                    **_result_json(result, the_key, book),
                    "reverses_entry_id": entry_id,
                    "balances": _balances_json(ledger, result.balances, currencies),
                }
            )
            return
        if result.created:
            click.echo(f"reversed entry {entry_id} with entry {result.entry_id} (key {the_key}){_retry_note(result)}")
        else:
            click.echo(
                f"replay: entry {entry_id} was already reversed by entry {result.entry_id} with key {the_key}; "
                f"nothing was written{_retry_note(result)}"
            )
        _print_balances(ledger, result.balances, currencies)


# --- reads --------------------------------------------------------------------------------------------------
@main.command()
@click.argument("account_code", metavar="ACCOUNT")
@ledger_options
@handle_errors
def balance(account_code: str, book: str, datadir: Path | None, as_json: bool) -> None:
    """Print an account's balance in major units.

    The balance is the account's normal balance: debit-positive for assets and expenses, credit-positive for
    liabilities, equity and income.

    \b
    Example:
        dualbook balance wallet:1
        dualbook balance wallet:1 --json | jq .balance
    """
    with open_ledger(datadir, book, "reader") as ledger:
        b = ledger.get_balance(account_code)
    if as_json:
        echo_json(_balance_json(b, book))
    else:
        closed = " (closed)" if b.status != "open" else ""
        click.echo(f"{b.code}: {amount(b.balance, b.exponent)} {b.currency}{closed}")


def _entry_json(ledger: Ledger, e: Entry, book: str) -> dict[str, Any]:
    legs = []
    for leg in e.legs:
        exponent = ledger.exponent(leg.currency)
        legs.append(
            {
                "leg": leg.leg,
                "account": leg.account,
                "currency": leg.currency,
                "side": "debit" if leg.amount > 0 else "credit",
                **amount_fields("amount", leg.amount, exponent),
                "account_seq": leg.account_seq,
                **amount_fields("balance_after", leg.balance_after, exponent),
            }
        )
    return {
        "book": book,
        "entry_id": e.entry_id,
        "key": e.idempotency_key,
        "description": e.description,
        "metadata": e.metadata,
        "effective_date": e.effective_date,
        "recorded_at": e.recorded_at,
        "reverses_entry_id": e.reverses_entry_id,
        "reversed_by_entry_id": e.reversed_by_entry_id,
        "legs": legs,
    }


@main.command()
@click.argument("entry_id", type=int, required=False)
@click.option("--key", default=None, help="Find the entry by its idempotency key instead of its id.")
@ledger_options
@handle_errors
def entry(entry_id: int | None, key: str | None, book: str, datadir: Path | None, as_json: bool) -> None:
    """Show an entry and its legs, by id or by idempotency key.

    Amounts are debit-positive; 'Balance after' is the account's normal balance after the leg.

    \b
    Example:
        dualbook entry 42
        dualbook entry --key topup:1 --json
    """
    if (entry_id is None) == (key is None):
        raise click.UsageError("give exactly one of ENTRY_ID or --key")
    with open_ledger(datadir, book, "reader") as ledger:
        e = ledger.get_entry(entry_id, key=key)
        if as_json:
            echo_json(_entry_json(ledger, e, book))
            return
        print_fields(
            [
                ("Entry", e.entry_id),
                ("Key", e.idempotency_key),
                ("Book", book),
                ("Description", e.description),
                ("Effective date", e.effective_date.isoformat()),
                ("Recorded at", e.recorded_at.isoformat()),
                ("Metadata", json.dumps(e.metadata, ensure_ascii=False) if e.metadata else None),
                ("Reverses", e.reverses_entry_id),
                ("Reversed by", e.reversed_by_entry_id),
            ]
        )
        click.echo()
        rows = []
        for leg in e.legs:
            exponent = ledger.exponent(leg.currency)
            rows.append(
                (
                    leg.leg,
                    leg.account,
                    amount(leg.amount, exponent) if leg.amount > 0 else None,
                    amount(-leg.amount, exponent) if leg.amount < 0 else None,
                    leg.currency,
                    amount(leg.balance_after, exponent),
                )
            )
        print_table(
            [
                Col("Leg", right=True),
                Col("Account"),
                Col("Debit", right=True),
                Col("Credit", right=True),
                Col("Currency"),
                Col("Balance after", right=True),
            ],
            rows,
        )


@main.command("trial-balance")
@ledger_options
@handle_errors
def trial_balance(book: str, datadir: Path | None, as_json: bool) -> None:
    """Debit and credit totals per currency (net is 0 in balanced books).

    \b
    Example:
        dualbook trial-balance
        dualbook trial-balance --book emea --json
    """
    with open_ledger(datadir, book, "reader") as ledger:
        rows = [(cur, ledger.exponent(cur), d, c, n) for cur, d, c, n in ledger.trial_balance()]
    if as_json:
        echo_json(
            [
                {
                    "book": book,
                    "currency": cur,
                    **amount_fields("debits", d, exp),
                    **amount_fields("credits", c, exp),
                    **amount_fields("net", n, exp),
                }
                for cur, exp, d, c, n in rows
            ]
        )
        return
    if not rows:
        click.echo("no accounts")
        return
    print_table(
        [Col("Currency"), Col("Debits", right=True), Col("Credits", right=True), Col("Net", right=True)],
        [(cur, amount(d, exp), amount(c, exp), amount(n, exp)) for cur, exp, d, c, n in rows],
    )


@main.command()
@datadir_option
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"ok": bool, "violations": [...]}.')
@handle_errors
def check(datadir: Path | None, as_json: bool) -> None:
    """Check every invariant of every book; exit 1 if any is broken.

    Recomputes every invariant from the raw postings (per-currency sums, balanced entries, running
    balances, limits, ...) in one read; it reads everything, so run it off-peak on big ledgers.

    \b
    Example:
        dualbook check && echo "books balance"
        dualbook check --json
    """
    with open_ledger(datadir, "default", "reader") as ledger:
        violations = ledger.books_check()
    if as_json:
        echo_json(
            {
                "ok": not violations,
                "violations": [
                    {"check": v.check_name, "book": v.book, "subject": v.subject, "detail": v.detail}
                    for v in violations
                ],
            }
        )
    elif not violations:
        click.echo("ok: every invariant holds")
    else:
        print_table(
            [Col("Check"), Col("Book"), Col("Subject"), Col("Detail")],
            [(v.check_name, v.book, v.subject, v.detail) for v in violations],
        )
        click.echo(f"{len(violations)} violation(s)")
    if violations:
        sys.exit(EXIT_FAILED)


@main.command()
@datadir_option
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Keep running, one pass every SECONDS.",
)
@click.option("--max", "max_legs", type=click.IntRange(min=1), default=10_000, show_default=True, help="Legs per pass.")
@click.option("--passes", type=click.IntRange(min=1), default=None, help="With --every: stop after this many passes.")
@handle_errors
def sequencer(datadir: Path | None, every: float | None, max_legs: int, passes: int | None) -> None:
    """Fold queued legs of deferred accounts into their balances and statements.

    Balances of deferred accounts are exact without it (stored + queued); a pass gives queued legs their
    account sequence number and running balance. Without --every, drains the queue and exits. Connects as
    dualbook_sequencer (DUALBOOK_SEQUENCER_URL, default DATABASE_URL).

    \b
    Example:
        dualbook sequencer                 # drain the queue once
        dualbook sequencer --every 0.2     # keep folding, five passes a second
    """
    if passes is not None and every is None:
        raise click.UsageError("--passes needs --every")
    with open_ledger(datadir, "default", "sequencer") as ledger:
        if every is None:
            total = ledger.drain_deferred(max_legs)
            click.echo(f"sequenced {total} leg(s); the queue is empty")
            return
        done = 0
        while passes is None or done < passes:
            n = ledger.sequence_deferred(max_legs)
            done += 1
            if n is None:
                click.echo("another sequencer holds the lock; waiting")
            elif n:
                click.echo(f"sequenced {n} leg(s)")
            if n is None or n < max_legs:
                time.sleep(every)


# --- bench --------------------------------------------------------------------------------------------------
def _batch_sizes(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return benchmod.parse_batch_sizes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _settings(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(benchmod.parse_setting(v) for v in value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@main.command()
@click.option(
    "--seconds",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_SECONDS,
    show_default=True,
    help="Duration of each measured point.",
)
@click.option(
    "--accounts",
    type=click.IntRange(min=2),
    default=benchmod.DEFAULT_ACCOUNTS,
    show_default=True,
    help="Accounts the uniform workloads spread over.",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_CLIENTS,
    show_default=True,
    help="pgbench clients of the ceiling, P1, P2, P2b and P5.",
)
@click.option(
    "--batch-sizes",
    callback=_batch_sizes,
    default=",".join(map(str, benchmod.DEFAULT_BATCH_SIZES)),
    show_default=True,
    help="P4: entries per post_entries call, comma-separated (1-1000).",
)
@click.option(
    "--batch-clients",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_BATCH_CLIENTS,
    show_default=True,
    help="P4: pgbench clients.",
)
@click.option(
    "--adapter-threads",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_ADAPTER_THREADS,
    show_default=True,
    help="P3: Python threads.",
)
@click.option(
    "--scale-postings",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_SCALE_POSTINGS,
    show_default=True,
    help="P5: load the journal to this many postings, then repeat P1.",
)
@click.option("--skip-scale", is_flag=True, help="Skip P5 (the load takes minutes).")
@click.option(
    "--loader-connections",
    type=click.IntRange(min=1),
    default=benchmod.DEFAULT_LOADER_CONNECTIONS,
    show_default=True,
    help="P5: connections of the loader.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for bench-results.json and bench-results.md.",
)
@click.option("--keep", is_flag=True, help="Keep the throwaway cluster running afterwards (for profiling).")
@click.option(
    "--set",
    "server_settings",
    multiple=True,
    callback=_settings,
    metavar="NAME=VALUE",
    help="A server setting of the throwaway cluster (repeatable), e.g. max_pred_locks_per_transaction=1024.",
)
@handle_errors
def bench(
    seconds: int,
    accounts: int,
    clients: int,
    batch_sizes: tuple[int, ...],
    batch_clients: int,
    adapter_threads: int,
    scale_postings: int,
    skip_scale: bool,
    loader_connections: int,
    out: Path,
    keep: bool,
    server_settings: tuple[tuple[str, str], ...],
) -> None:
    """Measure issue 7's workloads side by side in one run (docs/performance.md).

    Ceiling, P1 uniform post_entry, P2 hot deferred account (with the sequencer running and the certification
    invariants checked afterwards), P2b hot limited accounts, P3 the Python adapter, P4 post_entries batches,
    P5 P1 again after loading the journal. Prints a table and the targets, writes bench-results.json and
    bench-results.md. Uses DATABASE_URL (ledger deployed) when set, else a throwaway cluster. Exits 0 when it ran
    (a missed target is a result), 1 when the P2 correctness check failed, another code on errors.

    \b
    Example:
        dualbook bench --seconds 5 --skip-scale --out /tmp/bench
    """
    opts = benchmod.BenchOptions(
        seconds=seconds,
        accounts=accounts,
        clients=clients,
        batch_sizes=batch_sizes,
        batch_clients=batch_clients,
        adapter_threads=adapter_threads,
        scale_postings=scale_postings,
        skip_scale=skip_scale,
        loader_connections=loader_connections,
        out=out,
        keep=keep,
        server_settings=server_settings,
    )
    if not benchmod.run(opts):
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
