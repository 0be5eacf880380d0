"""A streaming physical replica of the embedded cluster (hot standby), for reports off the write path.

A :class:`Replica` is a :class:`~dualbook.db.cluster.Cluster` whose data directory is made by ``pg_basebackup -R``
from a running primary instead of ``initdb``: it starts as a hot standby on its own port and socket and streams
the primary's WAL through a physical replication slot (the primary keeps the WAL the replica has not received,
so a stopped replica catches up when started again). The tool sets up what replication needs on the primary: a
``dualbook_replicator`` role (LOGIN REPLICATION, nothing else) and its ``pg_hba.conf`` line (trust on loopback,
like the rest of the embedded cluster).

:func:`replication_status` measures the replica's lag the one way the client measures it
(:func:`dualbook.reads.replay_lag`): bytes of WAL the primary has flushed and the replica has not replayed, and
the seconds since the last commit the replica replayed (0 when it has replayed everything).
"""

from __future__ import annotations

import contextlib
import os
import pwd
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from dualbook.db.cluster import Cluster, _run_as, pg_bindir
from dualbook.errors import ClusterError
from dualbook.reads import Lag, primary_position, replay_lag, replica_position

REPLICATOR = "dualbook_replicator"
SLOT = "dualbook_replica"
_HBA_LINE = f"host replication {REPLICATOR} 127.0.0.1/32 trust"
#: the application_name every standby of the embedded pair streams under, whichever node it is: the name a
#: synchronous primary's ``synchronous_standby_names`` waits for
STANDBY_NAME = "dualbook_standby"


def _write_server_file(path: Path, text: str) -> None:
    """Write a file in a data directory, owned by the server's user (PostgreSQL runs as 'postgres' when we are root)."""
    path.write_text(text)
    user = _run_as()
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def attach_as_standby(standby: Cluster, primary_port: int, slot: str = SLOT) -> None:
    """Make the (stopped) data directory ``standby`` a streaming standby of the primary on ``primary_port``:
    ``standby.signal``, and ``primary_conninfo`` (as the replication role, application_name
    :data:`STANDBY_NAME`) and ``primary_slot_name`` in ``postgresql.auto.conf`` replacing any earlier ones."""
    auto = standby.datadir / "postgresql.auto.conf"
    kept = [
        line
        for line in (auto.read_text().splitlines() if auto.exists() else [])
        if not line.strip().startswith(("primary_conninfo", "primary_slot_name"))
    ]
    conninfo = f"host=127.0.0.1 port={primary_port} user={REPLICATOR} application_name={STANDBY_NAME}"
    kept += [f"primary_conninfo = '{conninfo}'", f"primary_slot_name = '{slot}'"]
    _write_server_file(auto, "\n".join(kept) + "\n")
    _write_server_file(standby.datadir / "standby.signal", "")


def replica_datadir(primary: Cluster) -> Path:
    """Where the replica of ``primary`` lives: next to its data directory, ``<name>-replica``."""
    return primary.datadir.parent / f"{primary.datadir.name}-replica"


@dataclass
class Replica(Cluster):
    """A hot standby of ``primary`` (set it with :meth:`of`): ``start()`` creates it by ``pg_basebackup`` when its
    data directory does not exist, then starts it; ``stop()`` stops it. The primary must run to create it."""

    primary: Cluster | None = None
    slot: str = SLOT

    @classmethod
    def of(cls, primary: Cluster, datadir: Path | None = None) -> Replica:
        return cls(datadir or replica_datadir(primary), primary=primary)

    def _primary(self) -> Cluster:
        if self.primary is None:
            raise ClusterError("a replica needs its primary")
        return self.primary

    def prepare_primary(self) -> None:
        """Create the replication role, its pg_hba.conf line and the replica's slot on the primary (idempotent)."""
        primary = self._primary()
        if not primary.running():
            raise ClusterError(
                f"no primary to replicate: the embedded cluster at {primary.datadir} is not running "
                "(start it first: 'dualbook db start --replica' starts both)"
            )
        hba = primary.datadir / "pg_hba.conf"
        if _HBA_LINE not in hba.read_text():
            with hba.open("a") as f:
                f.write(_HBA_LINE + "\n")
        with psycopg.connect(primary.url("postgres"), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATOR,)).fetchone()
            if not exists:
                conn.execute(f"CREATE ROLE {REPLICATOR} LOGIN REPLICATION")
            slot = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)).fetchone()
            if slot is None:
                conn.execute("SELECT pg_create_physical_replication_slot(%s, true)", (self.slot,))

    def init(self) -> None:
        """Make the data directory with ``pg_basebackup -R`` from the running primary (no-op when it exists)."""
        if self.initialized():
            return
        primary = self._primary()
        self.prepare_primary()
        self._prepare_dirs()
        if any(self.datadir.iterdir()):
            raise ClusterError(f"{self.datadir} exists, is not empty and is not a PostgreSQL data directory")
        port = primary.port or primary._load_port()
        if port is None:
            raise ClusterError(f"the primary at {primary.datadir} has never been started")
        self._run(
            [
                str(pg_bindir() / "pg_basebackup"),
                "-D",
                str(self.datadir),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                REPLICATOR,
                "-R",
                "-X",
                "stream",
                "-S",
                self.slot,
                "-c",
                "fast",
                "--no-password",
            ],
            timeout=600,
        )
        # The copy carries the primary's dualbook state (its port) and log: the replica has its own.
        for name in (self.state_file.name, self.logfile.name):
            with contextlib.suppress(OSError):
                (self.datadir / name).unlink()
        with (self.datadir / "postgresql.conf").open("a") as f:
            f.write("\n# --- dualbook replica ---\nhot_standby = on\nhot_standby_feedback = off\n")
        attach_as_standby(self, port, self.slot)

    def start(self, wait_seconds: float = 60) -> None:
        """Create the replica if needed (the primary must run), start it, and wait until it accepts reads."""
        if not self.initialized():
            self.port = None
        super().start(wait_seconds)

    def destroy(self) -> None:
        """Stop and remove the replica, and drop its slot on the primary when that runs (else the primary would
        keep WAL for it forever)."""
        super().destroy()
        primary = self.primary
        if primary is not None and primary.running():
            with psycopg.connect(primary.url("postgres"), autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE slot_name = %s AND NOT active",
                    (self.slot,),
                )


@dataclass(frozen=True)
class ReplicationStatus:
    """The replica as the primary and the replica see it."""

    streaming: bool  # the primary has a walsender streaming to it
    paused: bool  # replay paused (pg_wal_replay_pause())
    lag: Lag
    replay_at: datetime | None  # commit time of the last transaction replayed

    def as_json(self) -> dict[str, object]:
        return {
            "streaming": self.streaming,
            "paused": self.paused,
            "lag_bytes": self.lag.bytes,
            "lag_seconds": self.lag.seconds,
            "primary_lsn": self.lag.primary_lsn,
            "replay_lsn": self.lag.replay_lsn,
            "replay_at": self.replay_at.isoformat() if self.replay_at else None,
        }


def replication_status(primary: Cluster, replica: Cluster, dbname: str = "postgres") -> ReplicationStatus:
    """The replica's lag (bytes, seconds), whether it streams and whether its replay is paused."""
    with (
        psycopg.connect(primary.url(dbname), autocommit=True, connect_timeout=5) as p,
        psycopg.connect(replica.url(dbname), autocommit=True, connect_timeout=5) as r,
    ):
        target = primary_position(p)
        position = replica_position(r, target)
        row = p.execute(
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name <> ''"
        ).fetchone()
        paused_row = r.execute("SELECT pg_get_wal_replay_pause_state() <> 'not paused'").fetchone()
    return ReplicationStatus(
        streaming=bool(row and row[0]),
        paused=bool(paused_row and paused_row[0]),
        lag=replay_lag(position, target),
        replay_at=position.at,
    )


def describe(primary: Cluster, replica: Cluster) -> str:
    """One line: the replica's lag, for ``db status``."""
    st = replication_status(primary, replica)
    state = "streaming" if st.streaming else "not streaming"
    if st.paused:
        state += ", replay paused"
    seconds = "unknown" if st.lag.seconds is None else f"{st.lag.seconds:.3f}"
    return f"replay lag: {st.lag.bytes} bytes, {seconds} s ({state}; replayed {st.lag.replay_lsn})"
