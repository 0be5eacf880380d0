"""`dualbook db` (the embedded cluster) and the migrations: `deploy`, `revert`, `status`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from dualbook.cli.common import EXIT_FAILED, datadir_option, handle_errors
from dualbook.db import migrate
from dualbook.db.cluster import Cluster, default_datadir
from dualbook.db.config import check_connect, embedded_urls, resolve
from dualbook.db.pair import Pair, failover
from dualbook.db.replica import describe, replication_status
from dualbook.db.roles import PURPOSES, Purpose
from dualbook.errors import ConfigError


# --- db -----------------------------------------------------------------------------------------------------
@click.group()
def db() -> None:
    """Manage the embedded PostgreSQL cluster.

    \b
    Example:
        dualbook db start; dualbook db url; dualbook db stop
    """


def _pair(datadir: Path | None) -> Pair:
    return Pair.load(datadir or default_datadir())


def _running_line(cluster: Cluster) -> str:
    return f"running: {cluster.datadir} -> {cluster.url()} (pid {cluster.postmaster_pid()})"


replica_option = click.option(
    "--replica",
    is_flag=True,
    help="Also a streaming hot-standby replica of the embedded cluster (its own data directory, "
    "<datadir>-replica, and port).",
)


def _status_lines(pair: Pair) -> tuple[list[str], bool]:
    """The lines of `db status` and whether everything that exists runs."""
    cluster, replica = pair.primary(), pair.standby()
    if not cluster.running():
        lines = [f"not running: {cluster.datadir}"]
        ok = False
    else:
        lines, ok = [_running_line(cluster)], True
    if replica.initialized():
        if replica.running():
            lines.append(f"replica {_running_line(replica)}")
            if ok:
                lines.append(describe(cluster, replica))
        else:
            lines.append(f"replica not running: {replica.datadir}")
            ok = False
        mode = "synchronous" if pair.sync else "asynchronous"
        lines.append(f"primary: node {pair.primary_node}; standby: node {pair.standby_node}, {mode}")
    return lines, ok


@db.command("start")
@datadir_option
@replica_option
@click.option(
    "--sync/--no-sync",
    default=None,
    help="Make the replica a synchronous standby (a COMMIT returns once it is on both servers), or an asynchronous "
    "one again; remembered for the next starts. Default: as before (asynchronous for a new replica).",
)
@handle_errors
def db_start(datadir: Path | None, replica: bool, sync: bool | None) -> None:
    """Create (if needed) and start the embedded cluster; prints what `db status` prints.

    After a crash (the server killed with kill -9) it first waits, up to 60 s and saying so on stderr, for the
    old server's processes to exit. With --replica it also creates (pg_basebackup from the running cluster,
    once) and starts a streaming replica: a hot standby that serves reads (DUALBOOK_READ_URL, see
    `dualbook db url --replica`) and can take over (`dualbook db failover`). With --sync the replica is
    synchronous: no posting is acknowledged before it is on both servers (docs/operations.md). Running it again
    starts what is stopped and changes nothing else.

    \b
    Example:
        dualbook db start --datadir /var/lib/dualbook/pgdata
        dualbook db start --replica && export DUALBOOK_READ_URL="$(dualbook db url --replica --as reader)"
        dualbook db start --replica --sync
    """
    if replica and os.environ.get("DATABASE_URL"):
        raise ConfigError(
            "--replica makes a replica of the embedded cluster, but DATABASE_URL is set (an external server): "
            "unset it, or give the external server's replica to the clients as DUALBOOK_READ_URL"
        )
    pair = _pair(datadir)
    if sync and not (replica or pair.has_standby()):
        raise ConfigError("--sync needs a standby to wait for: add --replica")
    target = resolve(datadir, start=True)
    assert target.embedded is not None
    standby = pair.standby()
    if replica or standby.initialized():
        standby.start()
    if sync is not None:
        pair.sync = sync
        pair.save()
        if sync:
            pair.wait_streaming()
        pair.apply_sync()
    lines, _ = _status_lines(pair)
    click.echo("\n".join(lines))


@db.command("stop")
@datadir_option
@handle_errors
def db_stop(datadir: Path | None) -> None:
    """Stop the embedded cluster (and its replica, when it has one).

    \b
    Example:
        dualbook db stop
    """
    pair = _pair(datadir)
    cluster, standby = pair.primary(), pair.standby()
    if standby.initialized():
        click.echo("replica stopped" if standby.stop() else f"replica not running: {standby.datadir}")
    click.echo("stopped" if cluster.stop() else f"not running: {cluster.datadir}")


@db.command("status")
@datadir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: both servers and the replica's lag.")
@handle_errors
def db_status(datadir: Path | None, as_json: bool) -> None:
    """Say whether the embedded cluster (and its replica, when it has one) runs (exit 0) or not (exit 1); with a
    replica, its replay lag in bytes of WAL and seconds (0 when it has replayed everything the primary flushed),
    which node is the primary and whether the standby is synchronous.

    \b
    Example:
        dualbook db status || dualbook db start
    """
    pair = _pair(datadir)
    cluster, standby = pair.primary(), pair.standby()
    lines, ok = _status_lines(pair)
    if as_json:
        doc: dict[str, object] = {"primary": _server_json(cluster), "replica": None}
        if standby.initialized():
            replica_doc = _server_json(standby)
            if cluster.running() and standby.running():
                replica_doc.update(replication_status(cluster, standby).as_json())
            replica_doc["synchronous"] = pair.sync
            doc["replica"] = replica_doc
            doc["primary_node"] = pair.primary_node
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo("\n".join(lines))
    if not ok:
        sys.exit(EXIT_FAILED)


def _server_json(cluster: Cluster) -> dict[str, object]:
    running = cluster.running()
    return {
        "datadir": str(cluster.datadir),
        "running": running,
        "url": cluster.url() if running else None,
        "pid": cluster.postmaster_pid() if running else None,
    }


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
@click.option("--replica", is_flag=True, help="The embedded replica's URL (for DUALBOOK_READ_URL).")
@handle_errors
def db_url(datadir: Path | None, purpose: Purpose, replica: bool) -> None:
    """Print a database URL: the running embedded cluster's for that role, else (DATABASE_URL set) the
    role's variable (DUALBOOK_MIGRATOR_URL, ...) or DATABASE_URL. With a replica it names both servers, the
    primary first, with target_session_attrs=primary: a client reconnects to the new primary after a
    failover by itself.

    \b
    Example:
        psql "$(dualbook db url)"
        psql "$(dualbook db url --as app)"
        export DUALBOOK_READ_URL="$(dualbook db url --replica --as reader)"
    """
    target = resolve(datadir)
    if not replica:
        click.echo(target.url_for(purpose))
        return
    if target.embedded is None:
        raise ConfigError("--replica names the embedded cluster's replica, but DATABASE_URL is set")
    standby = _pair(datadir).standby()
    if not standby.running():
        raise ConfigError(
            f"the embedded replica at {standby.datadir} is not running: start it with 'dualbook db start --replica'"
        )
    click.echo(embedded_urls(standby)[purpose])


@db.command("failover")
@datadir_option
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON (seconds per step).")
@handle_errors
def db_failover(datadir: Path | None, as_json: bool) -> None:
    """Make the replica the primary: promote it (pg_promote), then re-attach the old primary as its standby
    (pg_rewind), and swap the roles; progress on stderr. A running primary is stopped first (a planned
    switchover); a dead one (crashed, killed) is rewound as it is.

    Refused (exit 4), with nothing changed: no replica, a replica that is not running or not streaming from a
    running primary, a replica of another PostgreSQL major version, an old primary pg_rewind cannot re-attach
    (the message says what to do instead). Clients with the URL of `dualbook db url` reconnect by themselves.

    \b
    Example:
        dualbook db failover && dualbook db status
    """
    if os.environ.get("DATABASE_URL"):
        raise ConfigError("db failover acts on the embedded pair, but DATABASE_URL is set (an external server)")
    pair = _pair(datadir)
    report = failover(pair, progress=lambda m: click.echo(f"dualbook: {m}", err=True))
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    lines, _ = _status_lines(pair)
    click.echo("\n".join(lines))


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
    help="Revert even when that drops the journal's tables while they hold accounts, entries, postings or holds.",
)
@handle_errors
def revert(datadir: Path | None, to: str | None, destroy_data: bool) -> None:
    """Revert deployed Sqitch changes.

    A revert that would drop the journal's tables (table_account, table_entry, table_posting, and the holds'
    tables of the holds change) while they hold rows asks first when run from a terminal; otherwise it refuses
    (exit 1) unless --destroy-data is given. Only the tables the revert drops are counted: reverting an empty
    ledger, or to a change above those tables, never asks.

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
