"""The database roles of dualbook, created by the Sqitch change ``role_dualbook`` (see docs/security.md).

Each kind of client connects as the role made for its job; :mod:`dualbook.db.config` turns a *purpose* into the URL
to connect with: the embedded cluster derives it (``Cluster.url(user=...)``, trust authentication on loopback),
an external server gets it from the environment.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

OWNER = "dualbook_owner"  # NOLOGIN: owns every ledger object
MIGRATOR = "dualbook_migrator"  # runs Sqitch in production (member of OWNER); creates books and currencies
APP = "dualbook_app"  # the application: the API functions and the views its client reads
SEQUENCER = "dualbook_sequencer"  # ledger.sequence_deferred() and ledger.seal_journal() (dualbook audit seal)
READER = "dualbook_reader"  # the views and the read functions, read-only sessions
AUDITOR = "dualbook_auditor"  # audit_verify(), the journal and audit views, books_check(), read-only sessions

ALL_ROLES = (OWNER, MIGRATOR, APP, SEQUENCER, READER, AUDITOR)

#: What a connection is for. ``migrator`` deploys (on the embedded cluster: its superuser, which creates the roles).
Purpose = Literal["app", "migrator", "reader", "sequencer", "auditor"]
PURPOSES: tuple[Purpose, ...] = ("app", "migrator", "reader", "sequencer", "auditor")

#: The role each purpose connects as on the embedded cluster (None: the cluster's superuser).
EMBEDDED_ROLE: dict[Purpose, str | None] = {
    "app": APP,
    "migrator": None,
    "reader": READER,
    "sequencer": SEQUENCER,
    "auditor": AUDITOR,
}

#: The environment variable naming each purpose's URL next to DATABASE_URL (which is the app's, and the
#: fallback for the others).
URL_VARIABLE: dict[Purpose, str] = {
    "app": "DATABASE_URL",
    "migrator": "DUALBOOK_MIGRATOR_URL",
    "reader": "DUALBOOK_READER_URL",
    "sequencer": "DUALBOOK_SEQUENCER_URL",
    "auditor": "DUALBOOK_AUDITOR_URL",
}


def url_as(url: str, user: str) -> str:
    """The same ``postgresql://`` URL for another user, without a password (for trust or certificate
    authentication, and for tests on throwaway clusters)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}@{host}"))
