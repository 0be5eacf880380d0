"""`dualbook db` (the embedded cluster) and the migrations: `deploy`, `revert`, `status`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dualbook.cli.common import EXIT_FAILED, datadir_option, handle_errors
from dualbook.db import migrate
from dualbook.db.cluster import Cluster, default_datadir
from dualbook.db.config import check_connect, resolve
from dualbook.db.roles import PURPOSES, Purpose


# --- db -----------------------------------------------------------------------------------------------------
@click.group()
def db() -> None:
    """Manage the embedded PostgreSQL cluster.

    \b
    Example:
        dualbook db start; dualbook db url; dualbook db stop
    """


def _cluster(datadir: Path | None) -> Cluster:
    return Cluster(datadir or default_datadir())


def _running_line(cluster: Cluster) -> str:
    return f"running: {cluster.datadir} -> {cluster.url()} (pid {cluster.postmaster_pid()})"


@db.command("start")
@datadir_option
@handle_errors
def db_start(datadir: Path | None) -> None:
    """Create (if needed) and start the embedded cluster; prints what `db status` prints.

    After a crash (the server killed with kill -9) it first waits, up to 60 s and saying so on stderr, for the
    old server's processes to exit.

    \b
    Example:
        dualbook db start --datadir /var/lib/dualbook/pgdata
    """
    target = resolve(datadir, start=True)
    cluster = target.embedded
    assert cluster is not None
    click.echo(_running_line(cluster))


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
        click.echo(_running_line(cluster))
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
@click.command()
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


def _interactive() -> bool:
    """Whether a person can answer a question: stdin and stderr are terminals."""
    return sys.stdin.isatty() and sys.stderr.isatty()


@click.command()
@datadir_option
@click.option("--to", "to", default=None, help="Revert down to this change (default: everything).")
@click.option(
    "--destroy-data",
    is_flag=True,
    help="Revert even when that drops the journal's tables while they hold accounts, entries or postings.",
)
@handle_errors
def revert(datadir: Path | None, to: str | None, destroy_data: bool) -> None:
    """Revert deployed Sqitch changes.

    A revert that would drop the journal's tables (table_account, table_entry, table_posting) while they hold
    rows asks first when run from a terminal; otherwise it refuses (exit 1) unless --destroy-data is given.
    Reverting an empty ledger, or to a change above those tables, never asks.

    \b
    Example:
        dualbook revert --to function_read_api
        dualbook revert --destroy-data    # drop everything, data included
    """
    target = resolve(datadir)
    check_connect(target, "migrator")
    url = target.url_for("migrator")
    if not destroy_data:
        hazard = migrate.revert_hazard(url, to)
        if hazard is not None:
            if not _interactive():
                raise migrate.DataLossRefused(migrate.refusal(to, hazard))
            question = f"This revert drops the journal's tables, which hold data: {hazard}. Destroy that data?"
            if not click.confirm(question, default=False, err=True):
                click.echo("not reverted", err=True)
                sys.exit(EXIT_FAILED)
            destroy_data = True
    migrate.revert(url, to=to, destroy_data=destroy_data)


@click.command()
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
