"""Where the database is, and as whom to connect: DATABASE_URL when set, else the embedded cluster.

Every client connects as the role made for its job (docs/security.md): the application, the demo workload and the
CLI's write commands as ``dualbook_app``; reports and the CLI's read commands as ``dualbook_reader``; the sequencer
as ``dualbook_sequencer``; Sqitch as the migrator. The embedded cluster derives each URL from its own
(trust authentication on loopback; its superuser deploys, because the first deploy creates the roles). With
``DATABASE_URL`` that URL is the application's, and ``DUALBOOK_MIGRATOR_URL``, ``DUALBOOK_READER_URL``,
``DUALBOOK_SEQUENCER_URL`` and ``DUALBOOK_AUDITOR_URL`` name the others, each falling back to ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from dualbook.db.cluster import DEFAULT_DBNAME, SUPERUSER, Cluster, default_datadir
from dualbook.db.pair import Pair
from dualbook.db.roles import EMBEDDED_ROLE, PURPOSES, URL_VARIABLE, Purpose
from dualbook.errors import ConfigError


def mask_url(url: str) -> str:
    """The URL with any password replaced by '***' (safe to print)."""
    masked = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", masked)


@dataclass(frozen=True)
class Target:
    """A database to talk to: one URL per purpose, and whether dualbook manages its server."""

    urls: dict[Purpose, str]
    embedded: Cluster | None

    @property
    def url(self) -> str:
        """The application's URL (writes and point reads, as dualbook_app)."""
        return self.urls["app"]

    def url_for(self, purpose: Purpose) -> str:
        return self.urls[purpose]

    def display_for(self, purpose: Purpose) -> str:
        return mask_url(self.urls[purpose])


def embedded_urls(cluster: Cluster, dbname: str = DEFAULT_DBNAME) -> dict[Purpose, str]:
    """Each purpose's URL on an embedded cluster: the role made for it (the superuser deploys)."""
    return {p: cluster.url(dbname, user=EMBEDDED_ROLE[p] or SUPERUSER) for p in PURPOSES}


def pair_urls(pair: Pair, dbname: str = DEFAULT_DBNAME) -> dict[Purpose, str]:
    """Each purpose's URL on an embedded pair: both nodes, the primary first, ``target_session_attrs=primary``
    (a client that loses its connection finds the new primary after a failover by itself); the migrator's names
    the primary alone (Sqitch takes one host)."""
    urls = {p: pair.multihost_url(dbname, user=EMBEDDED_ROLE[p] or SUPERUSER) for p in PURPOSES}
    urls["migrator"] = pair.primary().url(dbname, user=EMBEDDED_ROLE["migrator"] or SUPERUSER)  # Sqitch: one host
    return urls


def environment_urls(database_url: str) -> dict[Purpose, str]:
    """Each purpose's URL with DATABASE_URL set: its own variable, else DATABASE_URL."""
    return {p: os.environ.get(URL_VARIABLE[p]) or database_url for p in PURPOSES}


def resolve(datadir: Path | None = None, start: bool = False) -> Target:
    """DATABASE_URL if set; otherwise the embedded cluster (started and its database created when start=True).

    The embedded cluster is the pair's primary (node a unless a failover swapped the roles); when it has a
    standby, every URL names both nodes (:func:`pair_urls`)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return Target(urls=environment_urls(url), embedded=None)
    pair = Pair.load(datadir or default_datadir())
    cluster = pair.primary()
    if start:
        cluster.start()
        cluster.create_database(DEFAULT_DBNAME)
    elif not cluster.running():
        raise ConfigError(
            f"the embedded cluster at {cluster.datadir} is not running: start it with "
            "'dualbook db start', or set DATABASE_URL"
        )
    standby = pair.standby()
    if standby.initialized() and standby._load_port() is not None:
        return Target(urls=pair_urls(pair), embedded=cluster)
    return Target(urls=embedded_urls(cluster), embedded=cluster)


def check_connect(target: Target, purpose: Purpose = "app", timeout: int = 5) -> None:
    """Connect once as `purpose`; on failure raise ConfigError naming the masked URL and the cause in one line."""
    try:
        with psycopg.connect(target.url_for(purpose), connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        cause = " ".join(str(exc).split()) or type(exc).__name__
        hint = ""
        if target.embedded is not None and purpose != "migrator" and "does not exist" in cause:
            hint = " (is the ledger deployed? 'dualbook deploy' creates the roles)"
        raise ConfigError(f"cannot connect to {target.display_for(purpose)}: {cause}{hint}") from exc
