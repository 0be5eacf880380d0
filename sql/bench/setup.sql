-- Setup for the pgbench workloads of `make bench-sql` (pyadapter/dualbook/benchsql.py runs it; safe to re-run).
-- The commit-ceiling table: an ordinary LOGGED heap with a primary key, so one INSERT per transaction costs
-- one WAL flush at COMMIT (synchronous_commit = on) plus an index insert -- the floor any durable write pays.
-- It lives in its own schema, never in ledger / ledger_private.

CREATE SCHEMA IF NOT EXISTS dualbook_bench;

CREATE TABLE IF NOT EXISTS dualbook_bench.ceiling (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id integer NOT NULL,
    value     bigint NOT NULL
);

COMMENT ON TABLE dualbook_bench.ceiling IS
    'make bench-sql: the commit ceiling, one row per transaction (sql/bench/ceiling.sql).';
