"""The embedded pair: two nodes, a primary and its streaming standby, that can swap roles.

Node ``a`` is the data directory given (``--datadir``, ``DUALBOOK_DATADIR``), node ``b`` the one next to it,
``<name>-replica`` (:func:`~dualbook.db.replica.replica_datadir`). Which node is the primary, and whether the
standby is synchronous, is kept in ``<name>-pair.json`` next to them; without that file node ``a`` is the primary
and the standby is asynchronous (the reporting replica of ``db start --replica``).

*Synchronous* (``db start --replica --sync``): the primary runs with ``synchronous_standby_names`` naming the
standby's application_name (:data:`~dualbook.db.replica.STANDBY_NAME`) and ``synchronous_commit = on``: a COMMIT
returns once the standby has flushed its WAL to disk, so an acknowledged posting survives the loss of either node.

:func:`failover` promotes the standby (``pg_promote``), then re-attaches the old primary as the new standby with
``pg_rewind`` (the cluster runs with ``wal_log_hints = on`` for it), and swaps the roles in the pair's file.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from dualbook.db.cluster import DEFAULT_DBNAME, SUPERUSER, Cluster, pg_bindir
from dualbook.db.replica import SLOT, STANDBY_NAME, Replica, attach_as_standby, replica_datadir
from dualbook.errors import ClusterError

NODES = ("a", "b")
Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default progress callback: say nothing."""


def pair_file(base: Path) -> Path:
    """Where the pair's roles are kept: ``<name>-pair.json`` next to node a's data directory."""
    return base.parent / f"{base.name}-pair.json"


class FailoverRefused(ClusterError):
    """``db failover`` cannot be done as asked; nothing was changed."""


@dataclass
class FailoverReport:
    """What a failover did, with how long each step took (seconds)."""

    old_primary: Path
    new_primary: Path
    reattached: bool
    steps: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "old_primary": str(self.old_primary),
            "new_primary": str(self.new_primary),
            "reattached": self.reattached,
            "seconds": {k: round(v, 3) for k, v in self.steps.items()},
        }


@dataclass
class Pair:
    """The embedded pair rooted at node a's data directory ``base``."""

    base: Path
    primary_node: str = "a"
    sync: bool = False

    def __post_init__(self) -> None:
        self.base = Path(self.base).absolute()

    @classmethod
    def load(cls, base: Path) -> Pair:
        pair = cls(base)
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            doc = json.loads(pair_file(pair.base).read_text())
            if doc["primary"] in NODES:
                pair.primary_node = doc["primary"]
            pair.sync = bool(doc.get("sync", False))
        return pair

    def save(self) -> None:
        path = pair_file(self.base)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"primary": self.primary_node, "sync": self.sync}) + "\n")
        tmp.replace(path)

    # --- the nodes ------------------------------------------------------------------------------
    def node_dir(self, node: str) -> Path:
        return self.base if node == "a" else replica_datadir(Cluster(self.base))

    @property
    def standby_node(self) -> str:
        return "b" if self.primary_node == "a" else "a"

    def primary(self) -> Cluster:
        return Cluster(self.node_dir(self.primary_node))

    def standby(self) -> Replica:
        return Replica(self.node_dir(self.standby_node), primary=self.primary())

    def has_standby(self) -> bool:
        return self.standby().initialized()

    # --- URLs -----------------------------------------------------------------------------------
    def multihost_url(self, dbname: str = DEFAULT_DBNAME, user: str = SUPERUSER) -> str:
        """A URL naming both nodes, primary first, with ``target_session_attrs=primary``: libpq connects to
        whichever node accepts writes, so a client reconnecting after a failover finds the new primary."""
        ports = []
        for cluster in (self.primary(), self.standby()):
            port = cluster.port or cluster._load_port()
            if port is None:
                raise ClusterError(f"cluster at {cluster.datadir} has never been started")
            ports.append(f"127.0.0.1:{port}")
        return f"postgresql://{user}@{','.join(ports)}/{dbname}?target_session_attrs=primary"

    # --- synchronous standby --------------------------------------------------------------------
    def apply_sync(self, names: str | None = None) -> None:
        """Set the running primary's ``synchronous_standby_names`` (ALTER SYSTEM, reload): the standby's name when
        the pair is synchronous (or ``names`` when given), else empty."""
        value = names if names is not None else (STANDBY_NAME if self.sync else "")
        with psycopg.connect(self.primary().url("postgres"), autocommit=True, connect_timeout=10) as conn:
            if value:
                conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{value}'")
            else:
                conn.execute("ALTER SYSTEM RESET synchronous_standby_names")
            conn.execute("SELECT pg_reload_conf()")

    def wait_streaming(self, timeout: float = 60) -> None:
        """Wait until the primary has the standby streaming (under its application_name)."""
        deadline = time.monotonic() + timeout
        while True:
            with (
                contextlib.suppress(psycopg.OperationalError),
                psycopg.connect(self.primary().url("postgres"), autocommit=True, connect_timeout=5) as conn,
            ):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                    (STANDBY_NAME,),
                ).fetchone()
                if row and row[0]:
                    return
            if time.monotonic() > deadline:
                raise ClusterError(f"the standby at {self.standby().datadir} did not start streaming in {timeout:.0f}s")
            time.sleep(0.1)


# --- failover -------------------------------------------------------------------------------------
def _major(datadir: Path) -> str:
    try:
        return (datadir / "PG_VERSION").read_text().strip()
    except OSError:
        return "?"


def _controldata(cluster: Cluster) -> dict[str, str]:
    out = cluster._run([str(pg_bindir() / "pg_controldata"), "-D", str(cluster.datadir)], check=False).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def rewind_blocker(old: Cluster) -> str | None:
    """Why pg_rewind could not re-attach ``old`` (None when it can): it needs wal_log_hints or data checksums."""
    control = _controldata(old)
    hints = control.get("wal_log_hints setting", "off")
    checksums = control.get("Data page checksum version", "0")
    if hints == "on" or checksums not in ("", "0"):
        return None
    return (
        f"the old primary at {old.datadir} runs without wal_log_hints and without data checksums, so pg_rewind "
        "cannot re-attach it"
    )


def check_failover(pair: Pair) -> None:
    """Refuse (FailoverRefused, nothing changed) a failover that cannot be done safely."""
    old, new = pair.primary(), pair.standby()
    if not new.initialized():
        raise FailoverRefused(
            f"no standby to promote: {new.datadir} does not exist (create one with 'dualbook db start --replica')"
        )
    if _major(new.datadir) != _major(old.datadir) and old.initialized():
        raise FailoverRefused(
            f"the standby at {new.datadir} is PostgreSQL {_major(new.datadir)} and the primary "
            f"{_major(old.datadir)}: a standby of another major version cannot take over (upgrade it first)"
        )
    if not new.running():
        raise FailoverRefused(f"the standby at {new.datadir} is not running: start it ('dualbook db start') first")
    try:
        with psycopg.connect(new.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            receiving = conn.execute("SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'").fetchone()
    except psycopg.OperationalError as exc:
        raise FailoverRefused(f"the standby at {new.datadir} does not answer: {' '.join(str(exc).split())}") from exc
    if not (row and row[0]):
        raise FailoverRefused(f"{new.datadir} is not a standby (it is already a primary)")
    if old.running() and not (receiving and receiving[0]):
        raise FailoverRefused(
            f"the standby at {new.datadir} is not streaming from the running primary: promoting it would lose "
            "what it has not received (see 'dualbook db status')"
        )
    if old.initialized():
        blocker = rewind_blocker(old)
        if blocker is not None:
            raise FailoverRefused(
                f"{blocker}. Nothing was changed. Either turn wal_log_hints on (ALTER SYSTEM SET wal_log_hints = on, "
                f"then 'dualbook db stop' and 'dualbook db start') and fail over again, or, if the old primary is "
                f"lost, move {old.datadir} aside (it is not deleted) and fail over again: with no old primary it only "
                "promotes, and 'dualbook db start --replica' then makes a new standby"
            )


def _rewind(old: Cluster, new: Cluster, progress: Progress) -> None:
    """pg_rewind ``old`` (stopped) onto the running ``new`` primary and make it ``new``'s standby."""
    old.wait_for_old_server(60)
    old._clear_stale_pidfile()  # a killed postmaster's: pg_rewind's single-user recovery would refuse to run
    port = old._load_port()
    with contextlib.suppress(OSError):  # dualbook's own file (ours, not the server's): rewritten below
        old.state_file.unlink()
    source = f"host=127.0.0.1 port={new.port or new._load_port()} user={SUPERUSER} dbname=postgres"
    progress(f"rewinding {old.datadir} onto the new primary (pg_rewind)")
    proc = old._run(
        [str(pg_bindir() / "pg_rewind"), "--target-pgdata", str(old.datadir), "--source-server", source],
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ClusterError(
            f"pg_rewind could not re-attach {old.datadir}: {tail}. The new primary runs; make a new standby instead: "
            f"move {old.datadir} aside and run 'dualbook db start --replica'"
        )
    # pg_rewind copied the new primary's files that are not relation data, dualbook's state (its port) included,
    # and the slot directory is the old primary's own: a standby keeps no slot.
    old.port = port
    old._save_state()
    slots = old.datadir / "pg_replslot"
    if slots.is_dir():
        for child in slots.iterdir():
            shutil.rmtree(child, ignore_errors=True)
    attach_as_standby(old, int(new.port or new._load_port() or 0), SLOT)


def failover(pair: Pair, progress: Progress = _quiet) -> FailoverReport:
    """Promote the standby and re-attach the old primary as its standby; the roles swap in the pair's file.

    A running primary is stopped first (a planned switchover: a fast shutdown sends the standby everything). A
    synchronous pair runs asynchronous from the promotion until the old primary streams again (writes go on
    meanwhile), then synchronous again."""
    check_failover(pair)
    old, new = pair.primary(), pair.standby()
    report = FailoverReport(old.datadir, new.datadir, reattached=False)
    began = time.monotonic()
    if old.running():
        progress(f"stopping the primary at {old.datadir}")
        old.stop("fast")
    progress(f"promoting the standby at {new.datadir}")
    with psycopg.connect(new.url("postgres"), autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT pg_promote(true, 60)").fetchone()
        if row and row[0]:
            # the control file names the new timeline only after a checkpoint: pg_rewind reads it there
            conn.execute("CHECKPOINT")
    if not (row and row[0]):
        raise ClusterError(f"the standby at {new.datadir} did not finish its promotion within 60 s")
    pair.primary_node = pair.standby_node
    pair.save()
    report.steps["promote"] = time.monotonic() - began
    progress(f"promoted: {new.datadir} is the primary ({new.url()})")
    pair.apply_sync("")  # no standby until the old primary is back: writes must not wait for one
    Replica(old.datadir, primary=new).prepare_primary()  # the slot the new standby streams from
    if not old.initialized():
        progress(f"no old primary at {old.datadir} to re-attach: 'dualbook db start --replica' makes a new standby")
        return report
    _rewind(old, new, progress)
    report.steps["rewind"] = time.monotonic() - began
    progress(f"starting {old.datadir} as the standby")
    old.start()
    pair.wait_streaming()
    pair.apply_sync()
    report.reattached = True
    report.steps["reattach"] = time.monotonic() - began
    progress(f"re-attached: {old.datadir} streams from the new primary" + (" (synchronous)" if pair.sync else ""))
    return report
