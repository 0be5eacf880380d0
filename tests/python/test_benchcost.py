"""python -m dualbook.tools.bench.cost (what each index and CHECK on the write path costs): a small run on a real
deployed database reports every index and CHECK constraint of the tables a posting writes, and cleans up."""

from __future__ import annotations

import psycopg

from dualbook.tools.bench import cost as benchcost


def test_reports_every_index_and_check_and_cleans_up(db_url: str) -> None:
    costs = benchcost.measure(db_url, rows=500, rounds=1, progress=lambda line: None)
    with psycopg.connect(db_url) as conn:
        for table in benchcost.TABLES:
            expected = set(benchcost._objects(conn, table))
            reported = {(c.object, c.kind) for c in costs if c.table == table and c.kind != "all"}
            assert reported == expected and expected, table
            everything = [c for c in costs if c.table == table and c.kind == "all"]
            assert len(everything) == 1 and everything[0].us_per_row > 0
        assert conn.execute("SELECT to_regnamespace(%s)", [benchcost.SCHEMA]).fetchone() == (None,)
    table = benchcost.format_table(costs)
    assert table.count("\n") == len(costs) + 1 and "posting_account_seq" in table
