"""The `dualbook` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from dualbook import __version__, migrate
from dualbook.cluster import Cluster, default_datadir
from dualbook.config import check_connect, resolve
from dualbook.errors import ClusterError, DualbookError

F = TypeVar("F", bound=Callable[..., Any])

# Documented exit codes (docs/cli.md): one per error class.
EXIT_CONFIG = 3
EXIT_CLUSTER = 4


def handle_errors(func: F) -> F:
    """Turn dualbook errors into one line on stderr and a documented exit code (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DualbookError as exc:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().params.get("debug"):
                raise
            code = EXIT_CLUSTER if isinstance(exc, ClusterError) else EXIT_CONFIG
            click.echo(f"dualbook: error: {exc}", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


datadir_option = click.option(
    "--datadir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Embedded cluster data directory (default: $DUALBOOK_DATADIR or ./.dualbook/pgdata).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dualbook")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
def main(debug: bool) -> None:
    """dualbook: a strongly-consistent double-entry ledger on PostgreSQL.

    Uses the server in DATABASE_URL when set, else an embedded cluster that `dualbook db start` runs.

    \b
    Example:
        dualbook db start && dualbook deploy && dualbook status
    """


# --- db ---------------------------------------------------------------------------------------
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
    """Create (if needed) and start the embedded cluster; prints its URL."""
    target = resolve(datadir, start=True)
    assert target.embedded is not None
    click.echo(f"running: {target.embedded.datadir} -> {target.url}")


@db.command("stop")
@datadir_option
@handle_errors
def db_stop(datadir: Path | None) -> None:
    """Stop the embedded cluster."""
    cluster = _cluster(datadir)
    click.echo("stopped" if cluster.stop() else f"not running: {cluster.datadir}")


@db.command("status")
@datadir_option
@handle_errors
def db_status(datadir: Path | None) -> None:
    """Say whether the embedded cluster runs (exit 0) or not (exit 1)."""
    cluster = _cluster(datadir)
    if cluster.running():
        click.echo(f"running: {cluster.datadir} -> {cluster.url()} (pid {cluster.postmaster_pid()})")
    else:
        click.echo(f"not running: {cluster.datadir}")
        sys.exit(1)


@db.command("url")
@datadir_option
@handle_errors
def db_url(datadir: Path | None) -> None:
    """Print the database URL (DATABASE_URL if set, else the running embedded cluster's)."""
    click.echo(resolve(datadir).url)


# --- migrations -------------------------------------------------------------------------------
@main.command()
@datadir_option
@handle_errors
def deploy(datadir: Path | None) -> None:
    """Deploy every Sqitch change (verified) to the database; starts the embedded cluster if needed."""
    target = resolve(datadir, start=True)
    check_connect(target)
    migrate.deploy(target.url)


@main.command()
@datadir_option
@click.option("--to", "to", default=None, help="Revert down to this change (default: everything).")
@handle_errors
def revert(datadir: Path | None, to: str | None) -> None:
    """Revert deployed Sqitch changes."""
    target = resolve(datadir)
    check_connect(target)
    migrate.revert(target.url, to=to)


@main.command()
@datadir_option
@handle_errors
def status(datadir: Path | None) -> None:
    """Show the deployed Sqitch status of the database."""
    target = resolve(datadir)
    check_connect(target)
    migrate.status(target.url)


@main.command()
@datadir_option
@handle_errors
def demo(datadir: Path | None) -> None:
    """The main job: start the embedded cluster (unless DATABASE_URL), deploy, and show the ledger's status.

    \b
    Example:
        dualbook demo
        DATABASE_URL=postgresql://me@db.internal/ledger dualbook demo
    """
    from dualbook.demo import run_demo

    run_demo(datadir)


if __name__ == "__main__":  # pragma: no cover
    main()
