"""`dualbook db backup`, `db backups` and `db restore`: pgBackRest base backups and WAL archiving of the embedded
cluster, and point-in-time restore into a new data directory (docs/operations.md, "Backups and restore")."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from dualbook.cli.common import datadir_option, handle_errors
from dualbook.cli.db import db
from dualbook.db.backup import BACKUP_TYPES, Backups, RestoreTarget, TargetType, format_lsn
from dualbook.db.cluster import Cluster, default_datadir
from dualbook.db.config import embedded_urls
from dualbook.errors import ConfigError

repo_option = click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="DUALBOOK_BACKUP_DIR",
    show_envvar=True,
    default=None,
    help="The backup directory: pgBackRest's configuration, repository, logs and locks (default: <datadir>-backup).",
)


def _backups(datadir: Path | None, repo: Path | None) -> Backups:
    return Backups.of(Cluster(datadir or default_datadir()), repo)


def _say(line: str) -> None:
    click.echo(line, err=True)


@db.command("backup")
@datadir_option
@repo_option
@click.option(
    "--type",
    "type_",
    type=click.Choice(BACKUP_TYPES),
    default="full",
    show_default=True,
    help="full: every file; diff: what changed since the last full backup; incr: since the last backup of any type.",
)
@handle_errors
def db_backup(datadir: Path | None, repo: Path | None, type_: str) -> None:
    """Take a base backup of the running embedded cluster with pgBackRest.

    The first run writes pgBackRest's configuration into the backup directory, turns WAL archiving on
    (archive_command = pgbackrest archive-push; the cluster restarts once for archive_mode) and creates the
    stanza; every run checks that the server archives, then backs up. pgBackRest's progress goes to stderr; the
    new backup's label, to stdout. Two full backups are kept, with the WAL they need.

    \b
    Example:
        dualbook db backup                  # weekly
        dualbook db backup --type diff      # daily
    """
    if os.environ.get("DATABASE_URL"):
        raise ConfigError(
            "db backup backs up the embedded cluster, but DATABASE_URL is set (a server of your own): back that "
            "up with pgBackRest directly (docs/operations.md), or unset DATABASE_URL"
        )
    backups = _backups(datadir, repo)
    if not backups.cluster.running():
        raise ConfigError(f"the embedded cluster at {backups.cluster.datadir} is not running: start it first")
    started = time.monotonic()
    made = backups.backup(type_, progress=_say)
    _say(f"backup {made.label} ({made.type}) took {time.monotonic() - started:.1f}s; WAL {format_lsn(made.lsn_stop)}")
    click.echo(made.label)


@db.command("backups")
@datadir_option
@repo_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON: backups, archived WAL and restore points.")
@handle_errors
def db_backups(datadir: Path | None, repo: Path | None, as_json: bool) -> None:
    """List the backups, the archived WAL and the named restore points (`pgbackrest info`).

    A restore can reach any time or WAL position from the end of the first backup to the end of the archived WAL.

    \b
    Example:
        dualbook db backups --json
    """
    backups = _backups(datadir, repo)
    info = backups.info()
    points = backups.restore_points()
    if as_json:
        doc = {
            "repo": str(backups.repo),
            "backups": [b.as_json() for b in info.backups],
            "archive": {"min": info.wal_min, "max": info.wal_max},
            "archived_through": format_lsn(info.archived_through) if info.archived_through is not None else None,
            "restore_points": [p.as_json() for p in points],
        }
        click.echo(json.dumps(doc, indent=2))
        return
    if not info.backups:
        click.echo(f"no backup in {backups.repo}")
        return
    click.echo(f"{'Label':<26} {'Type':<5} {'Stopped (UTC)':<20} {'WAL stop':<12} {'Size':>10} {'In repo':>10}")
    for b in info.backups:
        click.echo(
            f"{b.label:<26} {b.type:<5} {b.stopped:%Y-%m-%d %H:%M:%S} {format_lsn(b.lsn_stop):<12} "
            f"{b.size:>10} {b.repo_size:>10}"
        )
    click.echo(f"archived WAL: {info.wal_min} .. {info.wal_max}")
    for p in points:
        click.echo(f"restore point {p.name} at WAL {format_lsn(p.lsn)} ({p.at:%Y-%m-%d %H:%M:%S%z})")


@db.command("restore")
@datadir_option
@repo_option
@click.option(
    "--to",
    "to",
    required=True,
    help="Recover up to this time (ISO 8601; UTC without an offset), WAL "
    "position (LSN, like 0/3000028) or restore point name.",
)
@click.option(
    "--type",
    "type_",
    type=click.Choice(["time", "lsn", "name"]),
    default=None,
    help="What --to is (default: an LSN if it looks like one, a time if it parses as one, else a name).",
)
@click.option("--exclusive", is_flag=True, help="Stop just before the target instead of just after it.")
@click.option(
    "--into",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The NEW data directory to restore into (must not exist, or be empty).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Its port (default: a free one).")
@handle_errors
def db_restore(
    datadir: Path | None,
    repo: Path | None,
    to: str,
    type_: TargetType | None,
    exclusive: bool,
    into: Path,
    port: int | None,
) -> None:
    """Restore the embedded cluster as of a time, a WAL position or a named restore point into a new data
    directory, start it on its own port and print its URL.

    The live cluster and its data directory are not touched (when it runs, its current WAL segment is archived
    first, so that everything committed until now can be restored). Refused (exit 4, nothing changed): a target
    before the end of the first backup or after the last archived WAL, an unknown restore point, a directory that
    exists and is not empty. The copy does not archive into the repository. Period close creates a restore point
    named dualbook-close-<book>-<date>: `dualbook db backups` lists them.

    \b
    Example:
        dualbook db restore --to '2026-01-31T17:00:00+00:00' --into /srv/restore/pgdata
        dualbook db restore --to dualbook-close-default-2026-01-31 --into /srv/restore/jan
        DUALBOOK_DATADIR=/srv/restore/jan dualbook check
    """
    backups = _backups(datadir, repo)
    target = RestoreTarget.parse(to, type_, exclusive)
    started = time.monotonic()
    copy = backups.restore(target, into, port=port, progress=_say)
    _say(f"restored to {target} in {time.monotonic() - started:.1f}s: {copy.datadir} runs on port {copy.port}")
    _say(f"stop it with: dualbook db stop --datadir {copy.datadir}")
    click.echo(embedded_urls(copy)["migrator"])
