"""Server CPU per posting, two deployed databases alternated: ``python scripts/bench_alternate.py OLD_URL NEW_URL``.

Each URL is a superuser connection to a database with the ledger deployed (e.g. one at an earlier tag, one at
HEAD). Both get the same accounts; then rounds alternate between them, each round one batch per workload and
database in a fresh session, and the backend's own CPU time (/proc/<pid>/schedstat, so the server must run on this
machine) is divided by the postings the batch made. One transaction per call (a procedure that commits after each,
``synchronous_commit = off`` so the flush wait does not count). Prints the median and the minimum per workload and
database, and the ratio of the medians. Workloads: ``P1`` one 2-leg ``post_entry`` (``P1meta``, ``P1wide``: with
metadata, small or with more than 32 brackets); ``P4set`` and ``P4per``
``post_entries`` of 100 2-leg entries through the set-based and the per-entry path, per entry.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import psycopg

ACCOUNTS = 1000
SETUP = """
SELECT count(*)
  FROM (SELECT ledger.create_account('ba:' || i, 'USD', 'asset') FROM generate_series(1, %(n)s) AS i) AS x;
CREATE SEQUENCE IF NOT EXISTS public.bench_key;
CREATE OR REPLACE PROCEDURE public.bench_p1(p_calls integer) LANGUAGE plpgsql AS $$
DECLARE a integer; b integer;
BEGIN
    FOR i IN 1 .. p_calls LOOP
        a := 1 + floor(random() * %(n)s)::integer;
        b := 1 + (a + floor(random() * (%(n)s - 1))::integer) %% %(n)s;
        PERFORM ledger.post_entry('bk:' || nextval('public.bench_key'),
            jsonb_build_array(jsonb_build_object('account', 'ba:' || a, 'amount', 7, 'currency', 'USD'),
                              jsonb_build_object('account', 'ba:' || b, 'amount', -7, 'currency', 'USD')));
        COMMIT;
    END LOOP;
END $$;
CREATE OR REPLACE PROCEDURE public.bench_p1m(p_calls integer, p_metadata jsonb) LANGUAGE plpgsql AS $$
DECLARE a integer; b integer;
BEGIN
    FOR i IN 1 .. p_calls LOOP
        a := 1 + floor(random() * %(n)s)::integer;
        b := 1 + (a + floor(random() * (%(n)s - 1))::integer) %% %(n)s;
        PERFORM ledger.post_entry('bk:' || nextval('public.bench_key'),
            jsonb_build_array(jsonb_build_object('account', 'ba:' || a, 'amount', 7, 'currency', 'USD'),
                              jsonb_build_object('account', 'ba:' || b, 'amount', -7, 'currency', 'USD')),
            NULL, p_metadata);
        COMMIT;
    END LOOP;
END $$;
CREATE OR REPLACE PROCEDURE public.bench_p4(p_calls integer, p_entries integer) LANGUAGE plpgsql AS $$
DECLARE v jsonb;
BEGIN
    FOR i IN 1 .. p_calls LOOP
        SELECT jsonb_agg(jsonb_build_object('key', 'bk:' || nextval('public.bench_key'), 'legs',
                   jsonb_build_array(
                       jsonb_build_object('account', 'ba:' || x.a, 'amount', 7, 'currency', 'USD'),
                       jsonb_build_object('account', 'ba:' || (1 + x.a %% %(n)s), 'amount', -7, 'currency', 'USD'))))
          INTO v
          FROM (SELECT 1 + floor(random() * %(n)s)::integer AS a FROM generate_series(1, p_entries)) AS x;
        PERFORM count(*) FROM ledger.post_entries(v);
        COMMIT;
    END LOOP;
END $$;
"""

#: metadata of 40 objects in an array: 42 brackets, so the depth check walks it
WIDE = json.dumps({"items": [{"sku": i, "qty": 1} for i in range(1, 41)]})

WORKLOADS: dict[str, tuple[str, int, str]] = {
    # name: (statement, postings per call, dualbook.post_entries_path)
    "P1": ("CALL public.bench_p1(%(calls)s)", 1, ""),
    # P1 with metadata: a typical small document (3 brackets: the depth is not walked) and WIDE (walked)
    "P1meta": (
        """CALL public.bench_p1m(%(calls)s, '{"order": 8431, "customer": {"id": 5, "tags": ["a", "b"]}}')""",
        1,
        "",
    ),
    "P1wide": ("CALL public.bench_p1m(%(calls)s, '" + WIDE + "')", 1, ""),
    "P4set": ("CALL public.bench_p4(%(calls)s, 100)", 100, "set"),
    "P4per": ("CALL public.bench_p4(%(calls)s, 100)", 100, "per-entry"),
}


def backend_cpu(conn: psycopg.Connection) -> float:
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e3  # µs


def batch(url: str, workload: str, calls: int) -> float:
    sql, per_call, path = WORKLOADS[workload]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET default_transaction_isolation = serializable")
        if path:
            conn.execute("SELECT set_config('dualbook.post_entries_path', %s, false)", (path,))
        conn.execute(sql, {"calls": max(1, calls // 20)})  # warm-up: plans and caches of this session
        before = backend_cpu(conn)
        conn.execute(sql, {"calls": calls})
        return (backend_cpu(conn) - before) / (per_call * calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=400, help="post_entry calls per P1 batch (P4: calls/40)")
    parser.add_argument("--workloads", default="P1,P4set,P4per")
    args = parser.parse_args()
    workloads = args.workloads.split(",")
    for url in (args.old, args.new):
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("SELECT to_regprocedure('public.bench_p1m(integer, jsonb)')").fetchone() == (None,):
                conn.execute("SET default_transaction_isolation = serializable")
                conn.execute(SETUP % {"n": ACCOUNTS})
    results: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for w in workloads:
            calls = args.calls if w == "P1" else max(1, args.calls // 40)
            order = (("old", args.old), ("new", args.new)) if r % 2 == 0 else (("new", args.new), ("old", args.old))
            for name, url in order:
                results.setdefault((w, name), []).append(batch(url, w, calls))
    print("workload | old median (min) µs | new median (min) µs | new/old (medians)")
    for w in workloads:
        old, new = results[(w, "old")], results[(w, "new")]
        print(
            f"{w} | {statistics.median(old):.1f} ({min(old):.1f}) | {statistics.median(new):.1f} ({min(new):.1f}) | "
            f"{statistics.median(new) / statistics.median(old):.3f}"
        )


if __name__ == "__main__":
    main()
