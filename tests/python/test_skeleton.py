"""The walking skeleton: embedded cluster lifecycle, Sqitch round trip, CLI error handling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dualbook.cli import main
from dualbook.db import migrate
from dualbook.db.cluster import Cluster
from dualbook.db.config import mask_url
from dualbook.testing import throwaway_cluster


def _schemas(url: str) -> set[str]:
    with psycopg.connect(url) as c:
        rows = c.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ledger%'").fetchall()
    return {r[0] for r in rows}


def test_deploy_revert_deploy_round_trips(cluster: Cluster) -> None:
    cluster.create_database("roundtrip")
    url = cluster.url("roundtrip")
    migrate.deploy(url, capture=True)
    assert {"ledger", "ledger_private"} <= _schemas(url)
    migrate.revert(url, capture=True)
    assert _schemas(url) == set()
    migrate.deploy(url, capture=True)
    assert {"ledger", "ledger_private"} <= _schemas(url)


def test_cluster_settings_suit_a_ledger(cluster: Cluster) -> None:
    with psycopg.connect(cluster.url("postgres")) as c:
        settings = dict(
            c.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync','synchronous_commit','wal_level','max_connections')"
            ).fetchall()
        )
    assert settings["fsync"] == "on"
    assert settings["synchronous_commit"] == "on"
    assert settings["wal_level"] == "replica"
    assert int(settings["max_connections"]) >= 64


def test_cluster_restarts_after_kill_9() -> None:
    with throwaway_cluster() as c:
        pid = c.postmaster_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while c.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not c.running()
        c.start()  # no manual clean-up: stale pid file and crash recovery handled
        with psycopg.connect(c.url("postgres")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert c.postmaster_pid() != pid


def test_cluster_start_is_idempotent(cluster: Cluster) -> None:
    pid = cluster.postmaster_pid()
    cluster.start()
    assert cluster.postmaster_pid() == pid


def test_mask_url_hides_password() -> None:
    assert mask_url("postgresql://u:secret@h:1/db") == "postgresql://u:***@h:1/db"
    assert "secret" not in mask_url("host=h password=secret dbname=x")
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_cli_unreachable_database_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/x")
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 3
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1, result.output
    assert "postgresql://nobody:***@127.0.0.1:1/x" in lines[0]
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_cli_db_lifecycle(tmp_path: Path) -> None:
    base = Path("/tmp") / f"dualbook-cli-{os.getpid()}"
    datadir = base / "pgdata"
    runner = CliRunner()
    try:
        r = runner.invoke(main, ["db", "status", "--datadir", str(datadir)])
        assert r.exit_code == 1 and "not running" in r.output
        r = runner.invoke(main, ["db", "start", "--datadir", str(datadir)])
        assert r.exit_code == 0, r.output
        r = runner.invoke(main, ["db", "url", "--datadir", str(datadir)], env={"DATABASE_URL": ""})
        assert r.exit_code == 0 and r.output.startswith("postgresql://postgres@127.0.0.1:")
        r = runner.invoke(main, ["db", "url", "--as", "app", "--datadir", str(datadir)], env={"DATABASE_URL": ""})
        assert r.exit_code == 0 and r.output.startswith("postgresql://dualbook_app@127.0.0.1:")
        r = runner.invoke(main, ["deploy", "--datadir", str(datadir)], env={"DATABASE_URL": ""})
        assert r.exit_code == 0, r.output
        assert {"ledger", "ledger_private"} <= _schemas(Cluster(datadir).url())
        r = runner.invoke(main, ["db", "stop", "--datadir", str(datadir)])
        assert r.exit_code == 0 and "stopped" in r.output
    finally:
        Cluster(datadir).destroy()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_version_and_help() -> None:
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and "dualbook" in r.output
    r = CliRunner().invoke(main, ["--help"])
    assert "Example" in r.output


def test_module_runs_as_script() -> None:
    r = subprocess.run([sys.executable, "-m", "dualbook.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "Usage" in r.stdout


def test_dockerfile_copies_only_what_exists() -> None:
    """No Docker engine here: at least every COPY source the image needs is in the repository."""
    root = Path(__file__).resolve().parents[2]
    sources = []
    for line in (root / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # not a copy from an earlier build stage
            sources += [s for s in line.split()[1:-1] if not s.startswith("--")]
    assert sources
    for s in sources:
        assert (root / s).exists(), f"Dockerfile copies {s}, which does not exist"
