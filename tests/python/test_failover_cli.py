"""`dualbook db start --replica --sync`, `db failover`, `db status` and `db url` on the embedded pair: a real run of
the command line, plus clients that were connected before a failover carrying on after it by themselves."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dualbook import AsyncLedger, GroupPolicy, Ledger
from dualbook.db.cluster import Cluster
from dualbook.db.pair import FailoverRefused, Pair, check_failover, pair_file
from dualbook.db.replica import Replica
from dualbook.testing import _tmp_base
from tests.python.servicekit import running_service
from tests.python.test_replica_cli import dualbook


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    base = Path(tempfile.mkdtemp(prefix="dualbook-cli-failover-", dir=_tmp_base()))
    os.chmod(base, 0o755)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "DUALBOOK_"))}
    environ["DUALBOOK_DATADIR"] = str(base / "pgdata")
    try:
        yield environ
    finally:
        pair = Pair.load(base / "pgdata")
        for node in ("a", "b"):
            Cluster(pair.node_dir(node)).destroy()
        shutil.rmtree(base, ignore_errors=True)


def legs(key_amount: int) -> list[dict[str, object]]:
    return [
        {"account": "bank", "amount": key_amount, "currency": "USD"},
        {"account": "w", "amount": -key_amount, "currency": "USD"},
    ]


def kill_primary(pair: Pair) -> None:
    pid = pair.primary().postmaster_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


async def failovers_under_clients(env: dict[str, str], base: Path, url: str) -> None:
    grouped = Ledger.connect(url, max_size=2, timeout=10, group=GroupPolicy(writers=1))
    aio = await AsyncLedger.connect(url, max_size=2, timeout=10)
    try:
        assert grouped.post_entry("g1", legs(100)).created

        # a planned switchover: the running primary is stopped first
        moved = await asyncio.to_thread(dualbook, env, "db", "failover")
        assert moved.returncode == 0, moved.stderr
        assert "promoting the standby" in moved.stderr and "pg_rewind" in moved.stderr
        assert moved.stdout.splitlines()[-1] == "primary: node b; standby: node a, synchronous"
        assert json.loads(pair_file(base).read_text()) == {"primary": "b", "sync": True}
        assert grouped.post_entry("g2", legs(100)).created  # reconnected by itself

        # an unplanned one: the primary killed
        kill_primary(Pair.load(base))
        back = await asyncio.to_thread(dualbook, env, "db", "failover", "--json")
        assert back.returncode == 0, back.stderr
        doc = json.loads(back.stdout)
        assert doc["reattached"] and doc["new_primary"] == str(base) and doc["seconds"]["promote"] > 0
        assert grouped.post_entry("g3", legs(100)).created
        assert (await aio.post_entry("a1", legs(10))).created
        assert not grouped.post_entry("g3", legs(100)).created  # a resent request: its key resolves it
    finally:
        grouped.close()
        await aio.close()


def test_sync_pair_fails_over_and_back(env: dict[str, str]) -> None:
    started = dualbook(env, "db", "start", "--replica", "--sync")
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[-1] == "primary: node a; standby: node b, synchronous"
    assert dualbook(env, "deploy").returncode == 0
    base = Path(env["DUALBOOK_DATADIR"])
    pair = Pair.load(base)
    assert pair.sync and pair.primary_node == "a"
    with psycopg.connect(pair.primary().url("postgres")) as conn:
        assert conn.execute("SHOW synchronous_standby_names").fetchone() == ("dualbook_standby",)
        assert conn.execute("SHOW wal_log_hints").fetchone() == ("on",)

    url = dualbook(env, "db", "url", "--as", "app").stdout.strip()
    ports = [pair.primary()._load_port(), pair.standby()._load_port()]
    hosts = f"127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    assert url == f"postgresql://dualbook_app@{hosts}/dualbook?target_session_attrs=primary"
    for args in (
        ["account", "create", "bank", "--currency", "USD", "--type", "asset"],
        ["account", "create", "w", "--currency", "USD", "--type", "liability"],
        ["post", "--key", "k1", "--debit", "bank", "1.00", "--credit", "w", "1.00"],
    ):
        assert dualbook(env, *args).returncode == 0, args

    # clients connected before the failovers: a grouped one and an async one, on the multi-host URL
    asyncio.run(failovers_under_clients(env, base, url))

    status = dualbook(env, "db", "status", "--json")
    assert status.returncode == 0, status.stdout
    sdoc = json.loads(status.stdout)
    assert sdoc["primary_node"] == "a" and sdoc["primary"]["datadir"] == str(base)
    assert sdoc["replica"]["synchronous"] and sdoc["replica"]["streaming"]
    assert dualbook(env, "balance", "w").stdout == "w: 4.10 USD\n"
    assert dualbook(env, "check").returncode == 0
    # the standby has it all (synchronous): read it there
    read_url = dualbook(env, "db", "url", "--replica", "--as", "reader").stdout.strip()
    assert dualbook(env, "--read-url", read_url, "balance", "w").stdout == "w: 4.10 USD\n"


def test_failover_refusals_change_nothing(env: dict[str, str]) -> None:
    base = Path(env["DUALBOOK_DATADIR"])
    assert dualbook(env, "db", "start", "--sync").returncode == 3  # nothing to be synchronous with
    # a cluster made without wal_log_hints (as before the pair could fail over)
    primary = Cluster(base, settings={"wal_log_hints": "off"})
    primary.start()
    r = dualbook(env, "db", "failover")
    assert r.returncode == 4 and "no standby to promote" in r.stderr, r.stderr
    assert primary.running() and not pair_file(base).exists()

    replica = Replica.of(primary)
    replica.start()
    r = dualbook(env, "db", "failover")
    assert r.returncode == 4 and "pg_rewind" in r.stderr and "wal_log_hints" in r.stderr, r.stderr
    assert "Nothing was changed" in r.stderr
    with pytest.raises(FailoverRefused, match="wal_log_hints"):
        check_failover(Pair.load(base))

    replica.stop()
    r = dualbook(env, "db", "failover")
    assert r.returncode == 4 and "is not running" in r.stderr, r.stderr
    version = replica.datadir / "PG_VERSION"
    real = version.read_text()
    version.write_text("14\n")
    try:
        r = dualbook(env, "db", "failover")
        assert r.returncode == 4 and "another major version" in r.stderr, r.stderr
    finally:
        version.write_text(real)
    # nothing was changed: the same primary runs, the standby is still a standby
    replica.start()
    assert primary.running() and not pair_file(base).exists()
    with psycopg.connect(replica.url("postgres")) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
    assert (replica.datadir / "standby.signal").exists()


def test_failover_of_an_external_server_is_refused(env: dict[str, str]) -> None:
    r = dualbook({**env, "DATABASE_URL": "postgresql://app@db.invalid/ledger"}, "db", "failover")
    assert r.returncode == 3 and "DATABASE_URL is set" in r.stderr


def test_the_service_carries_on_after_a_failover(env: dict[str, str], tmp_path: Path) -> None:
    """`dualbook serve` on the multi-host URL: after kill -9 of the primary and `db failover` it posts on the new
    primary by itself, and a request resent with its Idempotency-Key gets the original entry."""
    assert dualbook(env, "db", "start", "--replica", "--sync").returncode == 0
    assert dualbook(env, "deploy").returncode == 0
    url = dualbook(env, "db", "url", "--as", "app").stdout.strip()
    base = Path(env["DUALBOOK_DATADIR"])
    with running_service(url, tmp_path, env=env) as svc, svc.client("admin") as c:
        for code, kind in (("bank", "asset"), ("w", "liability")):
            assert c.post("/v1/accounts", json={"code": code, "currency": "USD", "type": kind}).status_code == 201
        body = {"legs": legs(40)}
        first = c.post("/v1/entries", json=body, headers={"Idempotency-Key": "s1"})
        assert first.status_code == 201, first.text
        kill_primary(Pair.load(base))
        assert dualbook(env, "db", "failover").returncode == 0
        second = c.post("/v1/entries", json=body, headers={"Idempotency-Key": "s2"})
        assert second.status_code == 201, second.text
        again = c.post("/v1/entries", json=body, headers={"Idempotency-Key": "s1"})
        assert again.status_code == 200 and again.json()["entry_id"] == first.json()["entry_id"], again.text
    assert Pair.load(base).primary_node == "b"
    assert dualbook(env, "balance", "w").stdout == "w: 0.80 USD\n"
