"""The `dualbook` command line: the embedded cluster, migrations, and the ledger's API for people and scripts.

Every ledger command is a thin shell over :class:`dualbook.Ledger`: the database validates every request and
the CLI only translates text to calls (amounts in major units -> exact integers of minor units) and results to
tables or JSON (see docs/cli.md). Errors become one line on stderr and a documented exit code. Each command group
lives in its own module of this package; this one is the root group.
"""

from __future__ import annotations

import importlib
from typing import ClassVar

import click

from dualbook import __version__
from dualbook.cli.exitcodes import help_block


# --- root ---------------------------------------------------------------------------------------------------
class RootGroup(click.Group):
    """The root group. Each command lives in the module of its group and is imported when first used, so
    `dualbook --version` or one command does not import the others (nor the tools behind demo and bench)."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "db": ("dualbook.cli.backup", "db"),  # the db group, with the backup commands added
        "deploy": ("dualbook.cli.db", "deploy"),
        "revert": ("dualbook.cli.db", "revert"),
        "status": ("dualbook.cli.db", "status"),
        "account": ("dualbook.cli.accounts", "account"),
        "book": ("dualbook.cli.books", "book"),
        "currency": ("dualbook.cli.currencies", "currency"),
        "post": ("dualbook.cli.entries", "post"),
        "reverse": ("dualbook.cli.entries", "reverse"),
        "hold": ("dualbook.cli.holds", "hold"),
        "capture": ("dualbook.cli.holds", "capture"),
        "void": ("dualbook.cli.holds", "void"),
        "balance": ("dualbook.cli.reports", "balance"),
        "entry": ("dualbook.cli.reports", "entry"),
        "outcome": ("dualbook.cli.outcomes", "outcome"),
        "trial-balance": ("dualbook.cli.reports", "trial_balance"),
        "check": ("dualbook.cli.reports", "check"),
        "report": ("dualbook.cli.periods", "report"),
        "period": ("dualbook.cli.periods", "period"),
        "sequencer": ("dualbook.cli.sequencer", "sequencer"),
        "audit": ("dualbook.cli.audit", "audit_group"),
        "demo": ("dualbook.cli.tools", "demo"),
        "bench": ("dualbook.cli.tools", "bench"),
        "serve": ("dualbook.cli.serve", "serve"),
        "service-token": ("dualbook.cli.serve", "service_token"),
    }

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
@click.option(
    "--read-url",
    envvar="DUALBOOK_READ_URL",
    show_envvar=True,
    default=None,
    metavar="URL",
    help="A read target (a streaming replica): read commands read there, after it has replayed every commit the "
    "primary had when the command started (else exit 7, replica_lagging, within 5 s).",
)
@click.option(
    "--max-lag",
    type=click.FloatRange(min=0),
    envvar="DUALBOOK_MAX_LAG",
    show_envvar=True,
    default=None,
    metavar="SECONDS",
    help="With --read-url: read the replica even when it has not replayed everything, if it is at most this "
    "many seconds behind.",
)
def main(debug: bool, read_url: str | None, max_lag: float | None) -> None:
    """dualbook: a strongly-consistent double-entry ledger on PostgreSQL.

    Uses the server in DATABASE_URL when set, else an embedded cluster that `dualbook db start` runs.
    Write commands connect as the application role (DATABASE_URL), read commands as the reader
    (DUALBOOK_READER_URL, default DATABASE_URL), deploy as the migrator (DUALBOOK_MIGRATOR_URL, default
    DATABASE_URL); the embedded cluster derives each (docs/security.md). With --read-url (DUALBOOK_READ_URL), read
    commands read that replica instead, as fresh as the primary when they start.
    Amounts on the command line are in major units of the account's currency (12.34 USD); in JSON they are
    integers of minor units (1234). Every read command takes --json.

    EXIT_CODES

    \b
    Example:
        dualbook db start && dualbook deploy
        dualbook account create bank --currency USD --type asset
        dualbook account create wallet:1 --currency USD --type liability --lower-limit 0
        dualbook post --key topup:1 --debit bank 100 --credit wallet:1 100
        dualbook balance wallet:1
    """


main.help = (main.help or "").replace("EXIT_CODES", help_block())

if __name__ == "__main__":  # pragma: no cover
    main()
