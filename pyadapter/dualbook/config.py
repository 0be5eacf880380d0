"""Where the database is: DATABASE_URL when set, else the embedded cluster."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dualbook.cluster import DEFAULT_DBNAME, Cluster, default_datadir
from dualbook.errors import ConfigError


def mask_url(url: str) -> str:
    """The URL with any password replaced by '***' (safe to print)."""
    masked = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", masked)


@dataclass(frozen=True)
class Target:
    """A database to talk to, and whether dualbook manages its server."""

    url: str
    embedded: Cluster | None

    @property
    def display(self) -> str:
        return mask_url(self.url)


def resolve(datadir: Path | None = None, start: bool = False) -> Target:
    """DATABASE_URL if set; otherwise the embedded cluster (started and its database created when start=True)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return Target(url=url, embedded=None)
    cluster = Cluster(datadir or default_datadir())
    if start:
        cluster.start()
        cluster.create_database(DEFAULT_DBNAME)
    elif not cluster.running():
        raise ConfigError(
            f"the embedded cluster at {cluster.datadir} is not running: start it with "
            "'dualbook db start', or set DATABASE_URL"
        )
    return Target(url=cluster.url(), embedded=cluster)


def check_connect(target: Target, timeout: int = 5) -> None:
    """Connect once; on failure raise ConfigError naming the masked URL and the cause in one line."""
    try:
        with psycopg.connect(target.url, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        cause = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"cannot connect to {target.display}: {cause}") from exc


def project_root() -> Path:
    """The directory holding sqitch.plan: $DUALBOOK_PROJECT_DIR, else the source checkout of this package."""
    env = os.environ.get("DUALBOOK_PROJECT_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [here.parents[2], Path.cwd()]
    for c in candidates:
        if (c / "sqitch.plan").exists():
            return c
    raise ConfigError("cannot find sqitch.plan: run from the dualbook checkout or set DUALBOOK_PROJECT_DIR")
