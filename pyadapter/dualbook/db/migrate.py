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

from dualbook.db.config import mask_url
from dualbook.errors import ConfigError


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


def revert(url: str, to: str | None = None, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """sqitch revert -y [--to CHANGE]: without `to`, reverts everything."""
    args = ["-y"] + (["--to", to] if to else [])
    return run_sqitch("revert", url, *args, capture=capture)


def status(url: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """sqitch status (exit 1 from sqitch means 'nothing deployed', not an error)."""
    return run_sqitch("status", url, capture=capture)
