"""An embedded PostgreSQL cluster for the demo, the tests and the benchmarks.

A :class:`Cluster` owns one data directory. ``start()`` creates it with ``initdb`` when it does not exist,
starts the server on a free loopback port plus a unix socket, and waits until it accepts connections;
``stop()`` shuts it down. PostgreSQL refuses to run as root: when we are root, ``initdb`` and the server
run as the ``postgres`` system user (created by Debian's PostgreSQL packages) and the data directory is
owned by it. An ordinary user runs them as themselves.

The cluster is for development, tests and benchmarks: it trusts local and loopback connections.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dualbook.errors import ClusterError

DEFAULT_DBNAME = "dualbook"
SUPERUSER = "postgres"

# Settings suited to a ledger: durable commits, WAL ready for a streaming replica, room for 64+ clients.
SERVER_SETTINGS: dict[str, str] = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "wal_level": "replica",
    # pg_rewind needs it to re-attach a failed primary as the new standby after a failover (db failover)
    "wal_log_hints": "on",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "max_connections": "200",
    "shared_buffers": "256MB",
    # SERIALIZABLE keeps a predicate lock per account a transaction touched; a batch (post_entries) touches
    # hundreds. Above max_pred_locks_per_relation they escalate to one lock on the whole account table, which
    # every concurrent posting would conflict with (docs/sql-api.md 2.6). ~30 MB of shared memory at 200 clients.
    "max_pred_locks_per_transaction": "1024",
    "max_pred_locks_per_relation": "1024",
    "listen_addresses": "'127.0.0.1'",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
    "default_transaction_isolation": "'read committed'",
}


def pg_bindir() -> Path:
    """The directory holding initdb/pg_ctl/postgres: $PG_BINDIR, else the newest /usr/lib/postgresql/N/bin."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise ClusterError("no PostgreSQL server binaries found (install postgresql, or set PG_BINDIR)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    """The system user to run PostgreSQL as: 'postgres' when we are root, else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ClusterError(
            "running as root, but there is no 'postgres' system user to run the server as "
            "(install Debian's postgresql package, or run as an ordinary user)"
        ) from exc
    return "postgres"


@dataclass
class Cluster:
    """One PostgreSQL data directory managed by dualbook."""

    datadir: Path
    port: int | None = None
    settings: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir).absolute()

    # --- paths and state -------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.datadir / "dualbook-cluster.json"

    @property
    def logfile(self) -> Path:
        return self.datadir / "server.log"

    @property
    def socket_dir(self) -> Path:
        # Outside the data directory: pg_rewind, re-attaching a failed primary, copies the new primary's data
        # directory file by file and cannot read a socket. Short (unix socket paths are limited to ~107 bytes).
        digest = hashlib.sha256(str(self.datadir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"dualbook-{digest}"

    def _load_port(self) -> int | None:
        try:
            return int(json.loads(self.state_file.read_text())["port"])
        except (OSError, ValueError, KeyError):
            return None

    def _save_state(self) -> None:
        self.state_file.write_text(json.dumps({"port": self.port, "socket_dir": str(self.socket_dir)}))

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def url(self, dbname: str = DEFAULT_DBNAME, user: str = SUPERUSER) -> str:
        port = self.port or self._load_port()
        if port is None:
            raise ClusterError(f"cluster at {self.datadir} has never been started")
        return f"postgresql://{user}@127.0.0.1:{port}/{dbname}"

    def conninfo(self, dbname: str = DEFAULT_DBNAME, user: str = SUPERUSER) -> str:
        """A libpq keyword string over the unix socket (fastest for local clients)."""
        port = self.port or self._load_port()
        return f"host={self.socket_dir} port={port} dbname={dbname} user={user}"

    # --- process helpers -----------------------------------------------------------------------
    def _run(self, args: list[str], check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        user = _run_as()
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                user=user,
                cwd="/",
                timeout=timeout,
                env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{Path(args[0]).name} timed out after {timeout:.0f}s") from exc
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise ClusterError(f"{Path(args[0]).name} failed: " + " | ".join(tail))
        return proc

    def _prepare_dirs(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True, mode=0o700)
        user = _run_as()
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(self.datadir, pw.pw_uid, pw.pw_gid)
            # the server user must be able to reach the data directory through its parents
            for parent in self.datadir.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    raise ClusterError(
                        f"{parent} is not searchable by the '{user}' user; choose a data directory "
                        "elsewhere (--datadir / DUALBOOK_DATADIR)"
                    )
        sd = self.socket_dir
        if sd != self.datadir:
            sd.mkdir(parents=True, exist_ok=True)
            if user is not None:
                pw = pwd.getpwnam(user)
                os.chown(sd, pw.pw_uid, pw.pw_gid)

    def init(self) -> None:
        """Create the data directory with initdb (no-op when it exists)."""
        if self.initialized():
            return
        self._prepare_dirs()
        if any(self.datadir.iterdir()):
            raise ClusterError(f"{self.datadir} exists, is not empty and is not a PostgreSQL data directory")
        self._run(
            [
                str(pg_bindir() / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ]
        )
        conf = dict(SERVER_SETTINGS)
        conf.update(self.settings or {})
        with (self.datadir / "postgresql.conf").open("a") as f:
            f.write("\n# --- dualbook embedded cluster ---\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        with (self.datadir / "pg_hba.conf").open("a") as f:
            f.write("host replication all 127.0.0.1/32 trust\n")

    def running(self) -> bool:
        if not self.initialized():
            return False
        proc = self._run([str(pg_bindir() / "pg_ctl"), "status", "-D", str(self.datadir)], check=False)
        return proc.returncode == 0 and self._pid_is_ours()

    def _pid_is_ours(self) -> bool:
        """True when postmaster.pid names a live postgres process for this data directory."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return False
        return any(b"postgres" in part for part in cmdline[:1]) and str(self.datadir).encode() in cmdline

    def _shmid(self) -> int | None:
        """The System V shared memory id the server of postmaster.pid attached (its 7th line: key and id)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.datadir / "postmaster.pid").read_text().splitlines()[6].split()[1])
        return None

    def leftover_processes(self) -> list[int]:
        """Live server processes of this data directory: ``postgres`` processes whose working directory it is (a
        server runs in its data directory). After the postmaster died (kill -9) these are its orphaned children,
        which exit by themselves once they notice; a new server cannot start until they have."""
        here = os.path.realpath(self.datadir)
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if os.readlink(proc / "cwd") == here and (proc / "comm").read_text().strip() == "postgres":
                    found.append(int(proc.name))
        return sorted(found)

    @staticmethod
    def shm_attached(shmid: int | None) -> int:
        """How many processes still attach the shared memory segment ``shmid`` (0 when it is gone)."""
        if shmid is None:
            return 0
        with contextlib.suppress(OSError):
            for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 6 and fields[1] == str(shmid):
                    return int(fields[6])
        return 0

    def wait_for_old_server(self, timeout: float = 60) -> None:
        """Wait (at most ``timeout`` s) until no process of an earlier server of this data directory is alive and
        its shared memory segment has no process attached; saying so on stderr while waiting. Raise ClusterError
        naming what is still there after the timeout."""
        shmid = self._shmid()
        deadline = time.monotonic() + timeout
        said = False
        while True:
            pids, attached = self.leftover_processes(), self.shm_attached(shmid)
            if not pids and not attached:
                if said:
                    print(f"dualbook: the old server's processes of {self.datadir} have exited", file=sys.stderr)
                return
            what = f"processes {', '.join(map(str, pids))}" if pids else "no process found"
            what += f"; shared memory segment {shmid}: {attached} attached" if shmid is not None else ""
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"server at {self.datadir} did not start: an earlier server's processes did not exit within "
                    f"{timeout:.0f}s ({what}); stop them (kill) and start again"
                )
            if not said:
                print(
                    f"dualbook: waiting up to {timeout:.0f}s for the processes of an earlier server of {self.datadir} "
                    f"to exit ({what})",
                    file=sys.stderr,
                )
                said = True
            time.sleep(0.1)

    def _clear_stale_pidfile(self) -> None:
        pidfile = self.datadir / "postmaster.pid"
        if pidfile.exists() and not self._pid_is_ours():
            # Left behind by a server that was killed (kill -9): no process of ours owns it.
            pidfile.unlink()

    def start(self, wait_seconds: float = 60) -> None:
        """Initialise if needed, then start (no-op when already running). After a crash of the postmaster (kill -9)
        first wait, at most ``wait_seconds``, for its orphaned children to exit: until then PostgreSQL refuses to
        start ("pre-existing shared memory block is still in use")."""
        self.init()
        if self.running():
            self.port = self._load_port()
            return
        self._prepare_dirs()
        if not self._pid_is_ours():
            self.wait_for_old_server(wait_seconds)
        self._clear_stale_pidfile()
        if self.port is None:
            self.port = self._load_port() or free_port()
        self._save_state()
        opts = f"-p {self.port} -k {self.socket_dir}"
        deadline = time.monotonic() + wait_seconds
        last = ""
        while True:
            proc = self._run(
                [
                    str(pg_bindir() / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    str(int(wait_seconds)),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.logfile),
                    "-o",
                    opts,
                ],
                check=False,
                timeout=wait_seconds + 30,
            )
            if proc.returncode == 0:
                return
            last = self._log_tail()
            # After a kill -9 the old backends may still hold shared memory for a moment; the port may
            # have been taken by someone else meanwhile. Retry, on a new port if needed.
            if "Address already in use" in last or "could not bind" in last:
                self.port = free_port()
                self.state_file.write_text(json.dumps({"port": self.port, "socket_dir": str(self.socket_dir)}))
                opts = f"-p {self.port} -k {self.socket_dir}"
            if time.monotonic() > deadline:
                raise ClusterError(f"server at {self.datadir} did not start: {last}")
            time.sleep(0.5)

    def _log_tail(self) -> str:
        try:
            lines = self.logfile.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no server log)"
        return " | ".join(lines[-3:])

    def stop(self, mode: str = "fast") -> bool:
        """Stop the server; returns False when it was not running."""
        if not self.running():
            return False
        self._run([str(pg_bindir() / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.datadir)])
        return True

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.datadir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def create_database(self, dbname: str, template: str | None = None) -> None:
        """CREATE DATABASE dbname (TEMPLATE template) if it does not exist."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if exists:
                return
            stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
            if template:
                stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
            conn.execute(stmt)

    def destroy(self) -> None:
        """Stop (immediately) and remove the data directory."""
        with contextlib.suppress(ClusterError):
            self.stop(mode="immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)
        if self.socket_dir != self.datadir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)


def _reachable_by_server_user(path: Path) -> bool:
    """Whether the server's user can traverse every existing parent of path (always true for non-root)."""
    if os.geteuid() != 0:
        return True
    return all(p.stat().st_mode & 0o001 for p in path.parents if p.exists())


def default_datadir() -> Path:
    """$DUALBOOK_DATADIR, else .dualbook/pgdata under the current directory.

    As root the server runs as 'postgres', which cannot enter a directory like /root: then the data
    directory goes to /tmp/dualbook-<hash of the project directory>/pgdata instead.
    """
    env = os.environ.get("DUALBOOK_DATADIR")
    if env:
        return Path(env).absolute()
    here = Path.cwd() / ".dualbook" / "pgdata"
    if _reachable_by_server_user(here):
        return here
    digest = hashlib.sha256(str(Path.cwd()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"dualbook-{digest}" / "pgdata"
