-- pgbench workload: the commit ceiling. One one-row INSERT into an ordinary logged table per transaction,
-- run at READ COMMITTED with synchronous_commit = on: what the server and its WAL flush allow at all.
-- Needs sql/bench/setup.sql. Run by `make bench-sql`; by hand:
--   pgbench -n -M prepared -c 32 -j 2 -T 15 -f sql/bench/ceiling.sql DBNAME
\set value random(1, 1000000)
INSERT INTO dualbook_bench.ceiling (client_id, value) VALUES (:client_id, :value);
