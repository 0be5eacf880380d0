"""What each index and constraint on the write path costs: ``python -m dualbook.tools.bench.cost``.

Every index and check the rules need stays, and docs/performance.md says what each costs. Under concurrency those
costs drown in noise (a few microseconds each against ~700 us of server CPU per posting on a shared machine), so
this measures them in isolation, in one session: for each table a posting writes, a scratch copy with all of the
table's indexes and CHECK constraints (``CREATE TABLE ... (LIKE ... INCLUDING ALL)``) and, for each index or
constraint, a copy without it; the same representative rows are inserted into each (or, for ``account``, the
same balance update applied), and the difference in the server backend's CPU time per row is that object's
cost. Copies are measured in rotation, ``--rounds`` times, and the median is reported; multiplied by the rows
one two-leg posting writes (one entry, two postings, two account updates) it is that object's share of a posting.

Runs on a throwaway cluster with the ledger deployed (the table definitions are the deployed ones); the scratch
tables live in a schema ``dualbook_cost`` that is dropped afterwards. Needs the server on this machine (it reads
the backend's CPU time from /proc).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dualbook.testing import deploy_template, throwaway_cluster
from dualbook.tools.bench.pgbench import BENCH_SETTINGS
from dualbook.tools.bench.procstat import proc_stat

SCHEMA = "dualbook_cost"

#: (table, rows of it one 2-leg posting writes, how a row is written)
TABLES: dict[str, tuple[int, str]] = {
    "entry": (
        1,
        "INSERT INTO {t} (book_id, idempotency_key, request_hash, description, metadata, effective_date)"
        " SELECT 1, 'r{round}:' || (g % 32) || ':' || g, sha256(int8send(g)), NULL, '{{}}', current_date"
        " FROM generate_series(1, {n}) AS g",
    ),
    "posting": (
        2,
        "INSERT INTO {t} (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)"
        " SELECT 1, {base} + (g + 1) / 2, 2 - g % 2, a, CASE WHEN g % 2 = 0 THEN 5 ELSE -5 END, 'USD',"
        "        {base} + g, 5 * g"
        " FROM generate_series(1, {n}) AS g, LATERAL (SELECT 1 + (hashint8(g + {base}) & 1048575)::bigint AS a) AS x",
    ),
    # the same update a posting makes to each of its accounts: balance and seq, nothing else
    "account": (2, "UPDATE {t} SET balance = balance + 1, seq = seq + 1 WHERE account_id <= {n}"),
}


@dataclass(frozen=True)
class Cost:
    table: str
    object: str
    kind: str  # index | check | (all)
    us_per_row: float
    rows_per_posting: int

    @property
    def us_per_posting(self) -> float:
        return self.us_per_row * self.rows_per_posting


def _objects(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    """The indexes and CHECK constraints of ledger_private.<table>, as (name, kind)."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, 'index' FROM pg_index AS i"
        " WHERE i.indrelid = %(t)s::regclass"
        " UNION ALL SELECT c.conname, 'check' FROM pg_constraint AS c"
        " WHERE c.conrelid = %(t)s::regclass AND c.contype = 'c' ORDER BY 2, 1",
        {"t": f"ledger_private.{table}"},
    ).fetchall()
    return [(str(r[0]).removeprefix("ledger_private."), str(r[1])) for r in rows]


def _backend_cpu_s(pid: int) -> float:
    """The backend's CPU time: /proc/<pid>/schedstat (nanoseconds) where the kernel has it, else the
    clock ticks of /proc/<pid>/stat (10 ms: use more --rows)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    st = proc_stat(pid)
    if st is None:
        raise RuntimeError("cannot read the backend's CPU time: the server must run on this machine")
    return st[1]


def _copy(conn: psycopg.Connection[Any], table: str, name: str, drop: tuple[str, str] | None) -> str:
    """A scratch copy of ledger_private.<table> with its indexes and CHECKs, minus ``drop``; its name."""
    target = f"{SCHEMA}.{name}"
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE ledger_private.{} INCLUDING ALL)").format(
            sql.Identifier(SCHEMA, name), sql.Identifier(table)
        )
    )
    reloptions = conn.execute(
        "SELECT array_to_string(reloptions, ', ') FROM pg_class WHERE oid = %s::regclass", [f"ledger_private.{table}"]
    ).fetchone()
    if reloptions is not None and reloptions[0]:  # fillfactor: LIKE does not copy storage parameters
        conn.execute(sql.SQL("ALTER TABLE {} SET ({})").format(sql.Identifier(SCHEMA, name), sql.SQL(reloptions[0])))
    if drop is not None:
        obj, kind = drop
        # LIKE names copied indexes after the new table; find the copy of `obj` by its definition's columns
        if kind == "index":
            row = conn.execute(
                "SELECT c.indexrelid::regclass::text FROM pg_index AS c, pg_index AS o"
                " WHERE c.indrelid = %s::regclass AND o.indexrelid = %s::regclass"
                " AND c.indkey::text = o.indkey::text AND c.indisunique = o.indisunique"
                " AND coalesce(pg_get_expr(c.indpred, c.indrelid), '')"
                " = coalesce(pg_get_expr(o.indpred, o.indrelid), '')",
                [target, f"ledger_private.{obj}"],
            ).fetchone()
            if row is None:
                raise RuntimeError(f"no copy of index {obj} on {target}")
            con = conn.execute(
                "SELECT conname FROM pg_constraint WHERE conindid = %s::regclass AND conrelid = %s::regclass",
                [row[0], target],
            ).fetchone()
            if con is not None:
                conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(SCHEMA, name), sql.Identifier(str(con[0]))
                    )
                )
            else:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(str(row[0]))))
        else:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(SCHEMA, name), sql.Identifier(obj))
            )
    return target


def measure(conninfo: str, rows: int = 200_000, rounds: int = 5, progress: Any = None) -> list[Cost]:
    """Per table: the CPU per row of writing the table with everything, and what each index/CHECK adds."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    results: list[Cost] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        pid = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        try:
            for table, (per_posting, write) in TABLES.items():
                objs = _objects(conn, table)
                variants: list[tuple[str, tuple[str, str] | None]] = [("all", None)]
                variants += [(f"no_{i}", o) for i, o in enumerate(objs)]
                targets = {name: _copy(conn, table, f"{table}_{name}", drop) for name, drop in variants}
                if table == "account":  # rows to update: the same accounts in every copy
                    for t in targets.values():
                        conn.execute(
                            sql.SQL(
                                "INSERT INTO {} (book_id, account_id, code, currency, type) OVERRIDING SYSTEM VALUE"
                                " SELECT 1, g, 'acc:' || g, 'USD', 'asset' FROM generate_series(1, %s) AS g"
                            ).format(sql.SQL(t)),
                            [rows],
                        )
                        conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.SQL(t)))
                times: dict[str, list[float]] = {name: [] for name, _ in variants}
                for r in range(rounds):
                    # rotate the order each round so a drift of the machine's load does not favour one copy
                    order = variants[r % len(variants) :] + variants[: r % len(variants)]
                    for name, _ in order:
                        stmt = write.format(t=targets[name], n=rows, round=r, base=r * rows * 2)
                        conn.execute("CHECKPOINT")
                        before = _backend_cpu_s(pid)
                        conn.execute(sql.SQL(stmt))
                        times[name].append((_backend_cpu_s(pid) - before) / rows * 1e6)
                    say(f"  {table}: round {r + 1}/{rounds}")
                full = statistics.median(times["all"])
                results.append(Cost(table, "(everything)", "all", full, per_posting))
                for name, drop in variants[1:]:
                    assert drop is not None
                    results.append(Cost(table, drop[0], drop[1], full - statistics.median(times[name]), per_posting))
        finally:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    return results


def format_table(costs: Sequence[Cost]) -> str:
    lines = [
        "| table | index / constraint | kind | µs per row | rows per posting | µs per posting |",
        "|---|---|---|---:|---:|---:|",
    ]
    for c in costs:
        lines.append(
            f"| {c.table} | {c.object} | {c.kind} | {c.us_per_row:.2f} | {c.rows_per_posting}"
            f" | {c.us_per_posting:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dualbook.tools.bench.cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=200_000, help="rows written per measurement (default 200,000)")
    p.add_argument("--rounds", type=int, default=5, help="measurements per copy; the median counts (default 5)")
    p.add_argument("--url", help="a database with the ledger deployed, as a superuser (default: a throwaway cluster)")
    args = p.parse_args(argv)
    if args.rows < 100 or args.rounds < 1:
        p.error("--rows must be at least 100 and --rounds at least 1")
    if args.url:
        costs = measure(args.url, args.rows, args.rounds)
    else:
        with throwaway_cluster(settings=BENCH_SETTINGS) as cluster:
            print("deploying the ledger on a throwaway cluster ...", file=sys.stderr, flush=True)
            costs = measure(deploy_template(cluster), args.rows, args.rounds)
    print(format_table(costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
