"""Sqitch, wrapped: deploy / revert / status of the ledger schema against a database URL.

The migrations ship inside the package (``dualbook/db/migrations``: ``sqitch.plan``, ``sqitch.conf``, ``deploy/``,
``revert/``, ``verify/``), so an installed wheel deploys with no checkout; in a checkout they are links to the
repository's top-level files.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from dualbook.db.config import mask_url
from dualbook.errors import ConfigError, DualbookError

#: The changes whose revert drops tables of the journal, and those tables (holds: reserved, not yet posted, money
#: all the same). A revert that reaches one of them while its tables hold rows destroys the ledger's data: it needs
#: an explicit confirmation (``destroy_data``).
JOURNAL_TABLES: dict[str, tuple[str, ...]] = {
    "table_account": ("ledger_private.account",),
    "table_entry": ("ledger_private.entry",),
    "table_posting": ("ledger_private.posting",),
    "holds": ("ledger_private.hold", "ledger_private.hold_leg", "ledger_private.hold_resolution"),
}


class DataLossRefused(DualbookError):
    """A revert would drop the journal's tables while they hold data, and nobody confirmed it."""


def migrations_dir() -> Path:
    """The directory holding ``sqitch.plan`` and the deploy/revert/verify scripts of this version of dualbook."""
    path = Path(str(resources.files("dualbook.db") / "migrations"))
    if not (path / "sqitch.plan").is_file():
        raise ConfigError(f"the migrations are missing from the installed package (no {path / 'sqitch.plan'})")
    return path


def sqitch_target(url: str) -> str:
    """A Sqitch target URI (db:pg://...) for a postgresql:// URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"unsupported database URL scheme in {mask_url(url)} (want postgresql://)")
    return "db:pg:" + url[len(parts.scheme) + 1 :]


def run_sqitch(command: str, url: str, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `sqitch <command> <args> <target>` in the project directory; raise ConfigError on failure."""
    exe = shutil.which("sqitch")
    if exe is None:
        raise ConfigError("sqitch is not installed (run 'make setup')")
    cmd = [exe, command, *args, sqitch_target(url)]
    proc = subprocess.run(cmd, cwd=migrations_dir(), text=True, capture_output=capture)
    ok = {0, 1} if command == "status" else {0}
    if proc.returncode not in ok:
        out = ((proc.stderr or "") + (proc.stdout or "")).strip().splitlines() if capture else []
        tail = (" | ".join(out[-3:])) if out else "see the output above"
        raise ConfigError(f"sqitch {command} failed against {mask_url(url)}: {tail}")
    return proc


def deploy(url: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """sqitch deploy --verify (every change, each verified)."""
    return run_sqitch("deploy", url, "--verify", capture=capture)


def plan_changes() -> list[str]:
    """The plan's change names in order (a reworked change appears once per version; tags as '@tag')."""
    names = []
    for line in (migrations_dir() / "sqitch.plan").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("%", "#")):
            names.append(line.split()[0])
    return names


def reverted_tables(to: str | None) -> list[str]:
    """The journal's tables `sqitch revert [--to to]` drops: those of the changes of JOURNAL_TABLES after ``to``.
    A target this cannot place in the plan (a change id, ``HEAD^``) counts as reaching all of them."""
    every = [table for tables in JOURNAL_TABLES.values() for table in tables]
    if to is None or to == "@ROOT":
        return every
    if to == "@HEAD":
        return []
    plan = plan_changes()
    name = to if to.startswith("@") else to.split("@", 1)[0]
    if name == "@FIRST":
        name = plan[0]
    if name not in plan:
        return every
    return [
        table
        for change, tables in JOURNAL_TABLES.items()
        if change in plan and plan.index(change) > plan.index(name)
        for table in tables
    ]


def reverts_journal(to: str | None) -> bool:
    """Whether `sqitch revert [--to to]` reaches a change of JOURNAL_TABLES (see :func:`reverted_tables`)."""
    return bool(reverted_tables(to))


def journal_data(url: str, tables: list[str] | None = None) -> dict[str, int]:
    """Rows in each of the journal's tables (or of ``tables``) that exist (empty when none exists or all are
    empty)."""
    found: dict[str, int] = {}
    if tables is None:
        tables = [table for group in JOURNAL_TABLES.values() for table in group]
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            if row and row[0]:
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split(".")))
                count = conn.execute(query).fetchone()
                if count and count[0]:
                    found[table] = int(count[0])
    return found


def revert_hazard(url: str, to: str | None = None) -> str | None:
    """What `revert(url, to)` would destroy, in words, or None when it drops no table holding data."""
    tables = reverted_tables(to)
    if not tables:
        return None
    found = journal_data(url, tables)
    if not found:
        return None
    return ", ".join(f"{table} ({n} rows)" for table, n in found.items())


def refusal(to: str | None, hazard: str) -> str:
    """The message of a refused revert."""
    return (
        f"refusing to revert {'to ' + to if to else 'everything'}: it would drop the journal's tables, which hold "
        f"data: {hazard}. Export what you need first (dualbook audit export); --destroy-data reverts anyway"
    )


def revert(
    url: str, to: str | None = None, capture: bool = False, *, destroy_data: bool = False
) -> subprocess.CompletedProcess[str]:
    """sqitch revert -y [--to CHANGE]: without `to`, reverts everything. Refuses (DataLossRefused) to drop the
    journal's tables while they hold rows unless ``destroy_data``."""
    if not destroy_data:
        hazard = revert_hazard(url, to)
        if hazard is not None:
            raise DataLossRefused(refusal(to, hazard))
    args = ["-y"] + (["--to", to] if to else [])
    return run_sqitch("revert", url, *args, capture=capture)


def status(url: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """sqitch status (exit 1 from sqitch means 'nothing deployed', not an error)."""
    return run_sqitch("status", url, capture=capture)
