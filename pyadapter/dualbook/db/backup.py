"""Backups and point-in-time restore of the embedded cluster with pgBackRest.

A :class:`Backups` owns one backup directory (default ``<datadir>-backup``, beside the data directory, never inside
it): pgBackRest's configuration file, written here, its repository, logs and locks, and the list of the named
restore points dualbook created. The cluster archives every WAL segment into the repository with
``archive_command = 'pgbackrest ... archive-push %p'``; ``backup()`` takes a full, differential or incremental base
backup; ``restore()`` recovers a copy of the cluster as of a time, a WAL position (LSN) or a named restore point
into a NEW data directory, starts it on its own port and returns it. Nothing here writes into the live data
directory or into an existing non-empty directory, and nothing copies WAL by hand.

pgBackRest runs as the user PostgreSQL runs as (``postgres`` when we are root), with every path it writes under
the backup directory (``--config``, ``--lock-path``, ``--log-path``, ``--repo1-path``): never /etc or /var.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

from dualbook.db.cluster import Cluster, _run_as, free_port, pg_bindir
from dualbook.errors import ClusterError

STANZA = "dualbook"
BACKUP_TYPES = ("full", "diff", "incr")
TargetType = Literal["time", "lsn", "name"]
Progress = Callable[[str], None]

#: WAL segments are 16 MB unless initdb was told otherwise (the embedded cluster never is).
WAL_SEGMENT_SIZE = 16 * 1024 * 1024
_LSN = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")
#: PostgreSQL keeps at most 63 bytes of a restore point's name.
MAX_RESTORE_POINT_NAME = 63


class BackupError(ClusterError):
    """A backup or a restore was refused or failed (exit code 4, like the embedded cluster's errors); when
    refused, nothing was changed."""


def parse_lsn(text: str) -> int:
    """'16/B374D848' -> the WAL position as an integer; BackupError when it is not one."""
    if not _LSN.match(text.strip()):
        raise BackupError(f"not a WAL position (LSN): {text!r}; write it like 0/3000028")
    hi, lo = text.strip().split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def segment_end(segment: str) -> int:
    """The WAL position just after the WAL segment file named ``segment`` (24 hex digits: timeline, log, seg)."""
    log, seg = int(segment[8:16], 16), int(segment[16:24], 16)
    return (log << 32) + (seg + 1) * WAL_SEGMENT_SIZE


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is UTC. BackupError when it is not a time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BackupError(f"not a time: {text!r}; write it like 2026-01-31T17:00:00+00:00") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def guess_target_type(text: str) -> TargetType:
    """A WAL position looks like 0/3000028, a time starts with a date; anything else names a restore point."""
    if _LSN.match(text.strip()):
        return "lsn"
    with contextlib.suppress(BackupError):
        parse_time(text)
        return "time"
    return "name"


@dataclass(frozen=True)
class BackupSet:
    """One backup in the repository, from ``pgbackrest info --output=json``."""

    label: str
    type: str
    started: datetime
    stopped: datetime
    lsn_start: int
    lsn_stop: int
    size: int  # bytes of the database at backup time
    repo_size: int  # bytes in the repository (compressed, and only what changed for diff/incr)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> BackupSet:
        return cls(
            label=doc["label"],
            type=doc["type"],
            started=datetime.fromtimestamp(doc["timestamp"]["start"], UTC),
            stopped=datetime.fromtimestamp(doc["timestamp"]["stop"], UTC),
            lsn_start=parse_lsn(doc["lsn"]["start"]),
            lsn_stop=parse_lsn(doc["lsn"]["stop"]),
            size=int(doc["info"]["size"]),
            repo_size=int(doc["info"]["repository"]["delta"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "type": self.type,
            "started": self.started.isoformat(),
            "stopped": self.stopped.isoformat(),
            "lsn_start": format_lsn(self.lsn_start),
            "lsn_stop": format_lsn(self.lsn_stop),
            "size": self.size,
            "repo_size": self.repo_size,
        }


@dataclass(frozen=True)
class RepoInfo:
    """The backups (oldest first) and the archived WAL of the stanza."""

    backups: list[BackupSet]
    wal_min: str | None
    wal_max: str | None

    @property
    def archived_through(self) -> int | None:
        """The WAL position the archive holds everything before (the end of its newest segment)."""
        return segment_end(self.wal_max) if self.wal_max else None


@dataclass(frozen=True)
class RestorePoint:
    name: str
    lsn: int
    at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "lsn": format_lsn(self.lsn), "at": self.at.isoformat()}


@dataclass(frozen=True)
class RestoreTarget:
    """Where recovery stops: ``type`` time, lsn or name and its text as given."""

    type: TargetType
    value: str
    exclusive: bool = False

    @classmethod
    def parse(cls, text: str, type_: TargetType | None = None, exclusive: bool = False) -> RestoreTarget:
        type_ = type_ or guess_target_type(text)
        if type_ == "time":
            value = parse_time(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        elif type_ == "lsn":
            value = format_lsn(parse_lsn(text))
        else:
            value = text.strip()
            if not value or len(value.encode()) > MAX_RESTORE_POINT_NAME:
                raise BackupError(f"not a restore point name: {text!r} (1 to {MAX_RESTORE_POINT_NAME} bytes)")
        return cls(type_, value, exclusive)

    def __str__(self) -> str:
        return f"{self.type} {self.value}"


def restore_point_name(book: str, through: object) -> str:
    """The restore point a period close creates: ``dualbook-close-<book>-<date>`` (a long book name shortened so
    that the name fits PostgreSQL's 63 bytes)."""
    tail = f"-{through}"
    room = MAX_RESTORE_POINT_NAME - len("dualbook-close-") - len(tail.encode())
    short = book.encode()[:room].decode(errors="ignore")
    return f"dualbook-close-{short}{tail}"


def create_restore_point(url: str, name: str) -> RestorePoint:
    """``pg_create_restore_point(name)`` on the server of ``url`` (a superuser, or a role granted EXECUTE on it);
    returns its position. It is written to WAL at once, whatever transaction is open: call it after the commit
    it should follow."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_create_restore_point(%s)::text, now()", (name,)).fetchone()
    assert row is not None
    return RestorePoint(name, parse_lsn(row[0]), row[1])


def backup_dir() -> Path | None:
    """$DUALBOOK_BACKUP_DIR, else None (the default: <datadir>-backup)."""
    env = os.environ.get("DUALBOOK_BACKUP_DIR")
    return Path(env) if env else None


@dataclass
class Backups:
    """The pgBackRest stanza of one embedded cluster, in its backup directory."""

    cluster: Cluster
    directory: Path

    @classmethod
    def of(cls, cluster: Cluster, directory: Path | None = None) -> Backups:
        return cls(cluster, Path(directory or f"{cluster.datadir}-backup").absolute())

    # --- paths ---------------------------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.directory / "pgbackrest.conf"

    @property
    def repo(self) -> Path:
        return self.directory / "repo"

    @property
    def points_file(self) -> Path:
        return self.directory / "restore-points.json"

    def archive_command(self) -> str:
        return " ".join(shlex.quote(arg) for arg in self._args("archive-push")) + " %p"

    def prepare(self) -> None:
        """Create the backup directory (owned by the server's user) and write pgBackRest's configuration."""
        if self.directory == self.cluster.datadir or self.cluster.datadir in self.directory.parents:
            raise BackupError(f"the backup directory {self.directory} must not be inside the data directory")
        user = _run_as()
        for sub in (self.directory, self.repo, *(self.directory / name for name in ("log", "lock", "conf.d"))):
            sub.mkdir(parents=True, exist_ok=True, mode=0o750)
            if user is not None:
                pw = pwd.getpwnam(user)
                os.chown(sub, pw.pw_uid, pw.pw_gid)
        port = self.cluster.port or self.cluster._load_port()
        lines = [
            "# Written by dualbook (dualbook db backup); rewritten on every backup.",
            "[global]",
            f"repo1-path={self.repo}",
            "repo1-retention-full=2",
            f"log-path={self.directory / 'log'}",
            f"lock-path={self.directory / 'lock'}",
            "log-level-file=detail",
            "start-fast=y",
            "compress-type=lz4",
            "",
            f"[{STANZA}]",
            f"pg1-path={self.cluster.datadir}",
            f"pg1-socket-path={self.cluster.socket_dir}",
            "pg1-user=postgres",
        ]
        if port is not None:
            lines.append(f"pg1-port={port}")
        self.config.write_text("\n".join(lines) + "\n")
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(self.config, pw.pw_uid, pw.pw_gid)

    # --- running pgbackrest --------------------------------------------------------------------------------
    def _args(self, command: str, *options: str) -> list[str]:
        return [
            "pgbackrest",
            f"--config={self.config}",
            f"--config-include-path={self.directory / 'conf.d'}",
            f"--stanza={STANZA}",
            *options,
            command,
        ]

    def pgbackrest(self, command: str, *options: str, progress: Progress | None = None, timeout: float = 3600) -> str:
        """Run one pgBackRest command as the server's user; its output lines go to ``progress`` as they come.
        Returns stdout; BackupError with the last lines of its output when it fails."""
        args = self._args(command, *options)
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        out: list[str] = []
        with subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, user=_run_as(), cwd="/", env=env
        ) as proc:
            assert proc.stdout is not None
            deadline = time.monotonic() + timeout
            for line in proc.stdout:
                out.append(line.rstrip("\n"))
                if progress is not None and line.strip():
                    progress(line.rstrip("\n"))
                if time.monotonic() > deadline:
                    proc.kill()
                    raise BackupError(f"pgbackrest {command} timed out after {timeout:.0f}s")
            code = proc.wait()
        if code != 0:
            tail = [line for line in out if line.strip()][-4:]
            raise BackupError(f"pgbackrest {command} failed (exit {code}): " + " | ".join(tail))
        return "\n".join(out)

    # --- archiving and backups -----------------------------------------------------------------------------
    def _superuser(self) -> psycopg.Connection[Any]:
        if not self.cluster.running():
            raise BackupError(f"the embedded cluster at {self.cluster.datadir} is not running: start it first")
        return psycopg.connect(self.cluster.url("postgres"), autocommit=True)

    def enable_archiving(self, progress: Progress | None = None) -> bool:
        """Point ``archive_command`` at this stanza (ALTER SYSTEM); turning ``archive_mode`` on needs a restart,
        done here once. Returns whether the server was restarted."""
        command = self.archive_command()
        with self._superuser() as conn:
            mode = conn.execute("SHOW archive_mode").fetchone()
            current = conn.execute("SHOW archive_command").fetchone()
            if mode and mode[0] == "on" and current and current[0] == command:
                return False
            conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
            conn.execute(sql.SQL("ALTER SYSTEM SET archive_command = {}").format(sql.Literal(command)))
            # An idle server still closes its WAL segment (and so archives it) at least once a minute.
            conn.execute("ALTER SYSTEM SET archive_timeout = '60s'")
            conn.execute("SELECT pg_reload_conf()")
        if mode and mode[0] == "on":
            return False
        if progress is not None:
            progress(f"restarting the embedded cluster at {self.cluster.datadir} once to turn WAL archiving on")
        self.cluster.stop()
        self.cluster.start()
        return True

    def stanza_exists(self) -> bool:
        return (self.repo / "backup" / STANZA / "backup.info").exists()

    def setup(self, progress: Progress | None = None) -> None:
        """Configuration, archiving and the stanza (created on first use), then ``pgbackrest check``: the
        server archives into the repository."""
        self.prepare()
        self.enable_archiving(progress)
        self.prepare()  # the port may have changed with the restart
        if not self.stanza_exists():
            self.pgbackrest("stanza-create", "--log-level-console=info", progress=progress)
        self.pgbackrest("check", "--log-level-console=info", progress=progress)

    def backup(self, type_: str = "full", progress: Progress | None = None) -> BackupSet:
        """Take a base backup (full, diff or incr: a diff or incr with no full backup before it becomes full)."""
        if type_ not in BACKUP_TYPES:
            raise BackupError(f"unknown backup type {type_!r}: one of {', '.join(BACKUP_TYPES)}")
        self.setup(progress)
        self.pgbackrest("backup", f"--type={type_}", "--log-level-console=info", progress=progress)
        return self.info().backups[-1]

    def info(self) -> RepoInfo:
        if not self.stanza_exists():
            return RepoInfo([], None, None)
        doc = json.loads(self.pgbackrest("info", "--output=json"))
        stanza = next((s for s in doc if s.get("name") == STANZA), None)
        if stanza is None:
            return RepoInfo([], None, None)
        backups = [BackupSet.of(b) for b in stanza.get("backup", [])]
        archives = [a for a in stanza.get("archive", []) if a.get("max")]
        wal_max = max((a["max"] for a in archives), default=None, key=lambda s: s[8:])
        wal_min = min((a["min"] for a in archives), default=None, key=lambda s: s[8:])
        return RepoInfo(backups, wal_min, wal_max)

    def archive_now(self) -> None:
        """When the cluster runs: close its current WAL segment and wait until it is archived (``pgbackrest
        check`` does both), so that everything committed so far can be restored."""
        if self.cluster.running():
            self.prepare()
            self.pgbackrest("check")

    # --- restore points ------------------------------------------------------------------------------------
    def restore_points(self) -> list[RestorePoint]:
        try:
            doc = json.loads(self.points_file.read_text())
        except (OSError, ValueError):
            return []
        return [RestorePoint(d["name"], parse_lsn(d["lsn"]), datetime.fromisoformat(d["at"])) for d in doc]

    def record_restore_point(self, point: RestorePoint) -> None:
        """Remember a restore point's position (so that a restore can choose the backup it starts from, and
        refuse a name never created). Only once backups are set up: before that no restore can reach it."""
        if not self.directory.is_dir():
            return
        points = [*self.restore_points(), point]
        tmp = self.points_file.with_suffix(".tmp")
        tmp.write_text(json.dumps([p.as_json() for p in points], indent=1))
        tmp.replace(self.points_file)

    def create_restore_point(self, name: str) -> RestorePoint:
        """A named restore point on the running cluster, recorded in the backup directory."""
        point = create_restore_point(self.cluster.url("postgres"), name)
        self.record_restore_point(point)
        return point

    # --- restore -------------------------------------------------------------------------------------------
    def choose(self, target: RestoreTarget, info: RepoInfo, check_end: bool = True) -> tuple[BackupSet, int | None]:
        """The newest backup that ended before the target, and the target's WAL position when known; BackupError
        (nothing changed) when the archive cannot reach the target (``check_end``: nor beyond its end)."""
        if not info.backups:
            raise BackupError(f"no backup in {self.repo} yet: take one with 'dualbook db backup'")
        first = info.backups[0]
        position: int | None = None
        if target.type == "name":
            known = [p for p in self.restore_points() if p.name == target.value]
            if not known:
                names = ", ".join(p.name for p in self.restore_points()[-5:]) or "none"
                raise BackupError(
                    f"unknown restore point {target.value!r}: no restore point of that name was created "
                    f"(the latest known: {names})"
                )
            position = known[0].lsn
        elif target.type == "lsn":
            position = parse_lsn(target.value)
        if target.type == "time":
            when = parse_time(target.value)
            if when < first.stopped:
                raise BackupError(
                    f"{target} is before the end of the first backup ({first.label}, ended "
                    f"{first.stopped:%Y-%m-%d %H:%M:%S+00}): there is no backup to start from"
                )
            if check_end:
                self._check_not_future_time(when)
            # pgBackRest keeps whole seconds: a backup that stopped in the target's second may have ended after it
            candidates = [b for b in info.backups if b.stopped + timedelta(seconds=1) <= when] or [first]
            return candidates[-1], None
        assert position is not None
        if position < first.lsn_stop:
            raise BackupError(
                f"{target} is before the end of the first backup ({first.label}, ended at WAL "
                f"{format_lsn(first.lsn_stop)}): there is no backup to start from"
            )
        through = info.archived_through
        if check_end and (through is None or position >= through):
            have = format_lsn(through) if through is not None else "nothing"
            raise BackupError(
                f"{target} is after the last archived WAL (the archive holds WAL up to {have}): recovery cannot "
                "reach it"
            )
        return [b for b in info.backups if b.lsn_stop <= position][-1], position

    def _check_not_future_time(self, when: datetime) -> None:
        now: datetime | None = None
        if self.cluster.running():
            with self._superuser() as conn:
                row = conn.execute("SELECT clock_timestamp()").fetchone()
                now = row[0] if row else None
        now = now or datetime.now(UTC)
        if when > now:
            raise BackupError(
                f"time {when.isoformat()} is after the last archived WAL (the server's clock says "
                f"{now.isoformat()}): recovery cannot reach it"
            )

    def restore(
        self,
        target: RestoreTarget,
        into: Path,
        port: int | None = None,
        progress: Progress | None = None,
        wait_seconds: float = 600,
    ) -> Cluster:
        """Recover a copy of the cluster as of ``target`` into the new data directory ``into`` (which must not
        exist, or be empty), start it on ``port`` (default: a free one), promoted, and return it. Refusals and
        failures raise BackupError; a failed recovery removes what it wrote into ``into`` and nothing else."""
        into = Path(into).absolute()
        if into.exists() and (not into.is_dir() or any(into.iterdir())):
            raise BackupError(f"{into} exists and is not empty: restore into a new or empty directory")
        if into == self.cluster.datadir:
            raise BackupError(f"{into} is the live data directory: restore into a new directory")
        self.choose(target, self.info(), check_end=False)  # what needs no fresh WAL is refused first
        try:
            self.archive_now()
        except BackupError as exc:
            if progress is not None:
                progress(f"warning: could not archive the running cluster's current WAL first: {exc}")
        info = self.info()
        chosen, _ = self.choose(target, info)
        if progress is not None:
            progress(f"restoring backup {chosen.label} into {into}, then WAL up to {target}")
        created = not into.exists()
        copy = Cluster(into, port=port or free_port())
        copy._prepare_dirs()
        into.chmod(0o700)  # PostgreSQL refuses a data directory others can read (an existing empty one may be 0755)
        options = [
            f"--type={target.type}",
            f"--target={target.value}",
            "--target-action=promote",
            f"--set={chosen.label}",
            f"--pg1-path={into}",
            "--archive-mode=off",
            "--log-level-console=info",
        ]
        if target.exclusive:
            options.append("--target-exclusive")
        try:
            self.pgbackrest("restore", *options, progress=progress)
            for name in ("dualbook-cluster.json", "server.log"):  # the source's, not the copy's
                with contextlib.suppress(OSError):
                    (into / name).unlink()
            self._start_and_promote(copy, target, wait_seconds)
        except BaseException:
            copy.destroy() if created else _empty(copy)
            raise
        return copy

    def _start_and_promote(self, copy: Cluster, target: RestoreTarget, wait_seconds: float) -> None:
        """Start the restored copy once (pg_ctl, not Cluster.start, which retries: a recovery that cannot reach
        its target fails the same way every time) and wait until recovery has promoted it."""
        copy._save_state()
        proc = copy._run(
            [
                str(pg_bindir() / "pg_ctl"),
                "start",
                "-w",
                "-t",
                str(int(wait_seconds)),
                "-D",
                str(copy.datadir),
                "-l",
                str(copy.logfile),
                "-o",
                f"-p {copy.port} -k {copy.socket_dir}",
            ],
            check=False,
            timeout=wait_seconds + 30,
        )
        failed = "" if proc.returncode == 0 else "the server did not start"
        deadline = time.monotonic() + wait_seconds
        while not failed:
            try:
                with psycopg.connect(copy.url("postgres"), connect_timeout=5) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and not row[0]:
                    return
            except psycopg.OperationalError as exc:
                if not copy.running():
                    failed = " ".join(str(exc).split())
            if time.monotonic() > deadline:
                failed = f"recovery did not finish within {wait_seconds:.0f}s"
            time.sleep(0.1)
        log = copy.logfile.read_text(errors="replace") if copy.logfile.exists() else ""
        if "before configured recovery target was reached" in log:
            raise BackupError(
                f"recovery to {target} failed: the archived WAL ends before the target (a time or position "
                "after the last archived WAL, or a restore point that is not in it); nothing was restored"
            )
        if "before consistent recovery point" in log:
            raise BackupError(f"recovery to {target} failed: the target is before the end of the chosen backup")
        raise BackupError(f"recovery to {target} failed: {failed}; server log: {copy._log_tail()}")


def _empty(cluster: Cluster) -> None:
    """Stop a failed copy and remove what the restore wrote into its (existing, formerly empty) directory."""
    with contextlib.suppress(ClusterError):
        cluster.stop(mode="immediate")
    for child in cluster.datadir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
