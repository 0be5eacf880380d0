"""Backups and restore with pgBackRest (dualbook.db.backup, `dualbook db backup|backups|restore`) and the restore
point of `period close`: on a throwaway cluster of this module's own (archiving turns on with a restart), with one
full backup taken first. Every refusal changes nothing: the live cluster keeps running, no directory appears, an
existing one keeps its contents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from dualbook.cli import main
from dualbook.cli.common import EXIT_CLUSTER, EXIT_CONFIG
from dualbook.db import roles
from dualbook.db.backup import (
    MAX_RESTORE_POINT_NAME,
    BackupError,
    Backups,
    RestorePoint,
    RestoreTarget,
    format_lsn,
    guess_target_type,
    parse_lsn,
    restore_point_name,
    segment_end,
)
from dualbook.db.cluster import DEFAULT_DBNAME, Cluster
from dualbook.testing import TEMPLATE_DB, deploy_template, throwaway_cluster

from .test_cli import fails, ok

CLOSE = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)  # the end of last month


@pytest.fixture(scope="module")
def backed_up() -> Iterator[Backups]:
    """A cluster with the ledger deployed (the template, and the CLI's database), archiving, one full backup."""
    with throwaway_cluster() as cluster:
        deploy_template(cluster)
        cluster.create_database(DEFAULT_DBNAME, template=TEMPLATE_DB)
        backups = Backups.of(cluster)
        backups.backup("full")
        yield backups


def cli(cluster: Cluster, *args: str, **env: str) -> Result:
    """The CLI on the module's embedded cluster (no DATABASE_URL)."""
    base: dict[str, str | None] = {"DUALBOOK_DATADIR": str(cluster.datadir), "DATABASE_URL": None}
    return CliRunner().invoke(main, list(args), env={**base, **env})


def refused(backups: Backups, target: RestoreTarget, into: Path, *fragments: str) -> None:
    before = sorted(p.name for p in into.iterdir()) if into.exists() else None
    with pytest.raises(BackupError) as caught:
        backups.restore(target, into)
    for fragment in fragments:
        assert fragment in str(caught.value), caught.value
    after = sorted(p.name for p in into.iterdir()) if into.exists() else None
    assert after == before, "a refused restore changed the target directory"
    assert backups.cluster.running()


# --- parsing -------------------------------------------------------------------------------------------------
def test_targets_are_recognised() -> None:
    assert guess_target_type("0/3000028") == "lsn"
    assert guess_target_type("2026-01-31T17:00:00+01:00") == "time"
    assert guess_target_type("dualbook-close-default-2026-01-31") == "name"
    assert RestoreTarget.parse("2026-01-31T17:00:00+01:00").value == "2026-01-31 16:00:00.000000+00"
    assert RestoreTarget.parse("2026-01-31 17:00").value == "2026-01-31 17:00:00.000000+00"  # no offset: UTC
    assert parse_lsn("16/B374D848") == (0x16 << 32) | 0xB374D848 and format_lsn(parse_lsn("0/3000028")) == "0/3000028"
    assert segment_end("000000010000000000000005") == parse_lsn("0/6000000")
    for bad, kind in (("0/zz", "lsn"), ("yesterday", "time"), ("x" * 64, "name"), ("", "name")):
        with pytest.raises(BackupError):
            RestoreTarget.parse(bad, kind)  # type: ignore[arg-type]


def test_restore_point_names_fit_postgres() -> None:
    assert restore_point_name("default", date(2026, 1, 31)) == "dualbook-close-default-2026-01-31"
    long = restore_point_name("ü" * 60, date(2026, 1, 31))
    assert len(long.encode()) <= MAX_RESTORE_POINT_NAME and long.endswith("-2026-01-31")


# --- refusals ------------------------------------------------------------------------------------------------
def test_restore_without_a_backup_is_refused(backed_up: Backups, tmp_path: Path) -> None:
    empty = Backups.of(backed_up.cluster, backed_up.cluster.datadir.parent / "no-backups-here")
    refused(empty, RestoreTarget.parse("0/5000000"), backed_up.cluster.datadir.parent / "r-none", "no backup")


def test_restore_before_the_first_backup_is_refused(backed_up: Backups) -> None:
    into = backed_up.cluster.datadir.parent / "r-early"
    first = backed_up.info().backups[0]
    early = (first.started - timedelta(hours=1)).isoformat()
    refused(backed_up, RestoreTarget.parse(early), into, "before the end of the first backup")
    refused(backed_up, RestoreTarget.parse("0/100"), into, "before the end of the first backup")
    assert not into.exists()


def test_restore_after_the_archive_is_refused(backed_up: Backups) -> None:
    into = backed_up.cluster.datadir.parent / "r-late"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    refused(backed_up, RestoreTarget.parse(later), into, "after the last archived WAL")
    refused(backed_up, RestoreTarget.parse("FF/0"), into, "after the last archived WAL")
    assert not into.exists()


def test_unknown_restore_point_is_refused(backed_up: Backups) -> None:
    into = backed_up.cluster.datadir.parent / "r-unknown"
    refused(backed_up, RestoreTarget.parse("dualbook-close-nobody-2020-01-31"), into, "unknown restore point")
    assert not into.exists()


def test_existing_directories_are_never_overwritten(backed_up: Backups) -> None:
    taken = backed_up.cluster.datadir.parent / "r-taken"
    taken.mkdir()
    (taken / "precious.txt").write_text("keep me")
    refused(backed_up, RestoreTarget.parse("0/5000000"), taken, "exists and is not empty")
    assert (taken / "precious.txt").read_text() == "keep me"
    live = backed_up.cluster.datadir
    refused(backed_up, RestoreTarget.parse("0/5000000"), live, "exists and is not empty")


def test_a_recovery_that_cannot_reach_its_target_says_so(backed_up: Backups) -> None:
    """A restore point the archive does not hold (recorded, never written to WAL): recovery replays everything,
    does not find it, and the failure is reported; the directory the restore made is removed."""
    with psycopg.connect(backed_up.cluster.url("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_insert_lsn()::text, now()").fetchone()
    assert row is not None
    backed_up.record_restore_point(RestorePoint("dualbook-never-written", parse_lsn(row[0]), row[1]))
    into = backed_up.cluster.datadir.parent / "r-missing"
    refused(backed_up, RestoreTarget.parse("dualbook-never-written"), into, "archived WAL ends before the target")
    assert not into.exists()


# --- the CLI, end to end -----------------------------------------------------------------------------------
def test_cli_backup_close_restore_point_and_restore(backed_up: Backups) -> None:
    cluster = backed_up.cluster
    label = ok(cli(cluster, "db", "backup", "--type", "incr")).stdout.strip()
    assert label.endswith("I")
    listed = json.loads(ok(cli(cluster, "db", "backups", "--json")).stdout)
    assert [b["type"] for b in listed["backups"]][-1] == "incr" and listed["archive"]["max"]
    ok(cli(cluster, "account", "create", "bank", "--currency", "USD", "--type", "asset"))
    ok(cli(cluster, "account", "create", "equity", "--currency", "USD", "--type", "equity"))
    dated = CLOSE.replace(day=10).isoformat()
    ok(cli(cluster, "post", "--debit", "bank", "12.34", "--credit", "equity", "12.34", "--effective-date", dated))
    closed = json.loads(ok(cli(cluster, "period", "close", CLOSE.isoformat(), "--json")).stdout)
    name = f"dualbook-close-default-{CLOSE.isoformat()}"
    assert closed["restore_point"]["name"] == name
    ok(cli(cluster, "post", "--debit", "bank", "1", "--credit", "equity", "1"))  # after the close: not restored
    month = CLOSE.strftime("%Y-%m")
    live_report = ok(cli(cluster, "report", "month-end", month)).stdout
    into = cluster.datadir.parent / "r-cli"
    into.mkdir()  # an existing empty directory will do
    into.chmod(0o755)
    restored = cli(cluster, "db", "restore", "--to", name, "--into", str(into))
    url = ok(restored).stdout.strip()
    copy = Cluster(into)
    try:
        assert url == copy.url(DEFAULT_DBNAME) and url != cluster.url(DEFAULT_DBNAME)
        assert ok(cli(copy, "report", "month-end", month)).stdout == live_report
        assert "12.34" in ok(cli(copy, "balance", "bank")).stdout
        assert "closed through " + CLOSE.isoformat() in ok(cli(copy, "period", "status")).stdout
        ok(cli(copy, "check"))
        # the copy does not archive into the live cluster's repository
        with psycopg.connect(copy.url("postgres")) as conn:
            assert conn.execute("SHOW archive_mode").fetchone() == ("off",)
        fails(cli(cluster, "db", "restore", "--to", name, "--into", str(into)), EXIT_CLUSTER, "not empty")
    finally:
        copy.destroy()


def test_cli_refusals_exit_4_with_one_line(backed_up: Backups) -> None:
    cluster = backed_up.cluster
    into = str(cluster.datadir.parent / "r-cli-refused")
    fails(cli(cluster, "db", "restore", "--to", "nope-never", "--into", into), EXIT_CLUSTER, "unknown restore point")
    fails(cli(cluster, "db", "restore", "--to", "FF/0", "--into", into), EXIT_CLUSTER, "after the last archived")
    fails(cli(cluster, "db", "restore", "--to", "2000-01-01", "--into", into), EXIT_CLUSTER, "before the end")
    assert not Path(into).exists()
    own = cli(cluster, "db", "backup", DATABASE_URL=cluster.url(TEMPLATE_DB))
    fails(own, EXIT_CONFIG, "DATABASE_URL is set")


def test_period_close_without_the_privilege_warns_and_stands(backed_up: Backups) -> None:
    """On a server of one's own the migrator may lack EXECUTE on pg_create_restore_point: the close stands."""
    url = backed_up.cluster.url(TEMPLATE_DB)
    env: dict[str, Any] = {
        "DATABASE_URL": roles.url_as(url, roles.APP),
        "DUALBOOK_MIGRATOR_URL": roles.url_as(url, roles.APP),
        "DUALBOOK_READER_URL": roles.url_as(url, roles.READER),
    }
    r = CliRunner().invoke(main, ["period", "close", CLOSE.isoformat(), "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["restore_point"] is None
    assert "no restore point was created" in r.stderr and "GRANT EXECUTE" in r.stderr
    r = CliRunner().invoke(main, ["period", "status"], env=env)
    assert "closed through " + CLOSE.isoformat() in r.stdout
    url_su = backed_up.cluster.url(TEMPLATE_DB)
    again = CliRunner().invoke(
        main,
        ["period", "close", CLOSE.isoformat(), "--json", "--no-restore-point"],
        env={"DATABASE_URL": url_su, "DUALBOOK_MIGRATOR_URL": url_su},
    )
    assert json.loads(again.stdout)["restore_point"] is None  # already closed: nothing created either way
