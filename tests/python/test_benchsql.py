"""`make bench-sql` smoke test: the harness runs end to end with tiny settings on a real database, and its
pgbench report parser reads pgbench 15's output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import psycopg
import pytest

from dualbook.db.cluster import Cluster
from dualbook.testing import drop_database, fresh_database
from dualbook.tools.bench import pgbench
from dualbook.tools.bench import sql as benchsql

PGBENCH_15_REPORT = """\
pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: sql/bench/post_entry.sql
scaling factor: 1
query mode: prepared
number of clients: 32
number of threads: 2
maximum number of tries: 10
duration: 5 s
number of transactions actually processed: 10000
number of failed transactions: 3 (0.030%)
number of serialization failures: 3 (0.030%)
number of deadlock failures: 0 (0.000%)
number of transactions retried: 9 (0.090%)
total number of retries: 11
latency average = 15.564 ms
latency stddev = 11.185 ms
initial connection time = 42.713 ms
tps = 1988.378722 (without initial connection time)
"""


def test_parse_pgbench_15_report() -> None:
    s = pgbench.parse_pgbench(PGBENCH_15_REPORT)
    assert s.transactions == 10000
    assert s.tps == pytest.approx(1988.378722)
    assert s.latency_avg_ms == pytest.approx(15.564)
    assert (s.failed, s.failed_pct) == (3, pytest.approx(0.03))
    assert (s.retried, s.retried_pct, s.retries) == (9, pytest.approx(0.09), 11)
    assert (s.serialization_failures, s.deadlock_failures) == (3, 0)


def test_parse_rejects_a_truncated_report() -> None:
    with pytest.raises(pgbench.BenchError, match="tps"):
        pgbench.parse_pgbench(PGBENCH_15_REPORT.split("latency average")[0])


def test_account_codes_match_the_workload_script() -> None:
    assert pgbench.account_code("bench", 1, 100_000) == "bench:000001"
    assert pgbench.account_code("bench", 1_234_567, 2_000_000) == "bench:1234567"


def test_harness_runs_end_to_end(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = fresh_database(cluster, prefix="bench")
    try:
        monkeypatch.setenv("DATABASE_URL", url)
        out = tmp_path / "bench.json"
        rc = benchsql.main(["--seconds", "1", "--accounts", "200", "--clients", "1,2", "--json", str(out)])
        assert rc == 0
        printed = capsys.readouterr()
        assert "post_entry" in printed.out and "ceiling" in printed.out
        assert "progress:" in printed.err or "accounts ready" in printed.err

        doc = json.loads(out.read_text())
        workloads = doc["workloads"]
        assert [(w["name"], w["clients"]) for w in workloads] == [("ceiling", 2), ("post_entry", 1), ("post_entry", 2)]
        for w in workloads:
            assert w["tps"] > 0 and w["transactions"] > 0
            assert isinstance(w["failed_pct"], float) and math.isfinite(w["failed_pct"])
            assert isinstance(w["retried_pct"], float) and 0 <= w["retried_pct"] <= 100
            assert w["latency_avg_ms"] > 0
            assert w["ratio_of"] == "ceiling@2"
            assert w["failed"] == 0  # a uniform 2-leg workload over 200 accounts at 2 clients retries at most
            # the session cluster is a local process: its CPU per transaction is measured
            assert w["server_cpu_us_per_tx"] is not None and w["server_cpu_us_per_tx"] > 0
        assert workloads[0]["ratio"] == 1.0
        assert 0 < workloads[2]["ratio"] < 10

        # The postings went through the API: every entry balances and the balances follow the postings.
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(amount), 0) FROM ledger_private.posting p "
                "JOIN ledger_private.account a USING (book_id, account_id) WHERE a.code LIKE 'dualbook-bench:%'"
            ).fetchone()
            assert row is not None and row[0] >= 2 and row[1] == 0
            accounts = conn.execute(
                "SELECT count(*) FROM ledger_private.account WHERE code LIKE 'dualbook-bench:%'"
            ).fetchone()
            assert accounts == (200,)
    finally:
        drop_database(cluster, url)


def test_write_set_refused_against_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert benchsql.main(["--write-set"]) == 1


def test_sealer_point_runs_side_by_side(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sealer: each post_entry point becomes A B B A with the journal's sealer running in the B points; the sealer
    keeps up, and afterwards the whole journal verifies."""
    url = fresh_database(cluster, prefix="bench")
    try:
        monkeypatch.setenv("DATABASE_URL", url)
        out = tmp_path / "bench.json"
        rc = benchsql.main(
            ["--seconds", "2", "--accounts", "200", "--clients", "2", "--sealer", "0.2", "--json", str(out)]
        )
        assert rc == 0
        printed = capsys.readouterr()
        assert "sealer every 0.2 s at 2 clients:" in printed.out and "target >= 0.9x" in printed.out
        workloads = json.loads(out.read_text())["workloads"]
        assert [w["name"] for w in workloads] == [
            "ceiling",
            "post_entry",
            "post_entry+sealer",
            "post_entry+sealer",
            "post_entry",
        ]
        for sealed in workloads[2:4]:
            assert sealed["sealer_calls"] >= 3 and sealed["sealed_entries"] > 0
            assert sealed["unsealed_at_end"] < sealed["transactions"]
            assert sealed["sealer_cpu_us_per_entry"] is not None and sealed["sealer_cpu_us_per_entry"] > 0
        assert workloads[1]["sealer_calls"] is None and workloads[4]["sealer_calls"] is None
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT * FROM ledger.seal_journal()").fetchone() is not None
            conn.commit()
            assert conn.execute("SELECT count(*) FROM ledger.audit_verify()").fetchone() == (0,)
    finally:
        drop_database(cluster, url)
