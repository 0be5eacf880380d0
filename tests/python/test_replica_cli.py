"""`dualbook db start --replica`, `db status`, `db stop` and `--read-url`: a real run of the command line against the
embedded cluster and its streaming replica, in a temporary data directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualbook.db.cluster import Cluster
from dualbook.db.replica import Replica
from dualbook.errors import ClusterError
from dualbook.testing import _tmp_base


def dualbook(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dualbook.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """The environment of a person with an embedded cluster in a fresh directory (no DATABASE_URL)."""
    base = Path(tempfile.mkdtemp(prefix="dualbook-cli-replica-", dir=_tmp_base()))
    os.chmod(base, 0o755)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DUALBOOK_"))}
    environ["DUALBOOK_DATADIR"] = str(base / "pgdata")
    try:
        yield environ
    finally:
        primary = Cluster(base / "pgdata")
        Replica.of(primary).destroy()
        primary.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_db_start_replica_status_stop(env: dict[str, str]) -> None:
    started = dualbook(env, "db", "start", "--replica")
    assert started.returncode == 0, started.stderr
    lines = started.stdout.splitlines()
    assert lines[0].startswith("running: ") and lines[1].startswith("replica running: ")
    assert lines[2].startswith("replay lag: 0 bytes, 0.000 s (streaming")
    assert dualbook(env, "deploy").returncode == 0

    # the replica is a hot standby that serves the CLI's reads (--read-url / DUALBOOK_READ_URL)
    read_url = dualbook(env, "db", "url", "--replica", "--as", "reader").stdout.strip()
    assert "dualbook_reader@" in read_url and read_url != dualbook(env, "db", "url", "--as", "reader").stdout.strip()
    for args in (
        ["account", "create", "bank", "--currency", "USD", "--type", "asset"],
        ["account", "create", "w", "--currency", "USD", "--type", "liability"],
        ["post", "--key", "k1", "--debit", "bank", "12.34", "--credit", "w", "12.34"],
    ):
        assert dualbook(env, *args).returncode == 0
    on_replica = dualbook({**env, "DUALBOOK_READ_URL": read_url}, "trial-balance", "--json")
    assert on_replica.returncode == 0, on_replica.stderr
    assert json.loads(on_replica.stdout)[0]["net"] == 0 and json.loads(on_replica.stdout)[0]["debits"] == 1234
    assert dualbook(env, "--read-url", read_url, "balance", "w").stdout == "w: 12.34 USD\n"
    reads = (["check"], ["currency", "show", "USD"], ["book", "list"], ["account", "list"], ["entry", "--key", "k1"])
    for args in reads:
        assert dualbook(env, "--read-url", read_url, *args).returncode == 0, args

    status = dualbook(env, "db", "status", "--json")
    assert status.returncode == 0
    doc = json.loads(status.stdout)
    assert doc["primary"]["running"] and doc["replica"]["running"] and doc["replica"]["streaming"]
    assert doc["replica"]["lag_bytes"] == 0 and doc["replica"]["replay_lsn"] == doc["replica"]["primary_lsn"]

    # idempotent: starting again changes nothing
    again = dualbook(env, "db", "start", "--replica")
    assert again.returncode == 0 and again.stdout.splitlines()[:2] == lines[:2]

    stopped = dualbook(env, "db", "stop")
    assert stopped.stdout == "replica stopped\nstopped\n"
    down = dualbook(env, "db", "status")
    assert down.returncode == 1 and "replica not running" in down.stdout
    # a stopped replica: the read commands say so (exit 7), never answer from elsewhere
    assert dualbook(env, "db", "start").returncode == 0  # starts both: the replica exists
    replica = Replica.of(Cluster(Path(env["DUALBOOK_DATADIR"])))
    assert replica.stop()
    r = dualbook({**env, "DUALBOOK_READ_URL": read_url}, "balance", "w")
    assert r.returncode == 7 and "replica_unavailable" in r.stderr, r.stderr
    assert dualbook(env, "db", "status").returncode == 1


def test_db_start_replica_needs_the_embedded_cluster(env: dict[str, str]) -> None:
    r = dualbook({**env, "DATABASE_URL": "postgresql://app@db.invalid/ledger"}, "db", "start", "--replica")
    assert r.returncode == 3 and "DATABASE_URL is set" in r.stderr
    r = dualbook(env, "db", "url", "--replica")
    assert r.returncode == 3 and "not running" in r.stderr


def test_a_replica_needs_a_running_primary(env: dict[str, str]) -> None:
    primary = Cluster(Path(env["DUALBOOK_DATADIR"]))
    with pytest.raises(ClusterError, match="no primary to replicate"):
        Replica.of(primary).start()
    assert not Replica.of(primary).initialized()  # nothing was made
