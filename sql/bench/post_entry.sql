-- pgbench workload: one ledger.post_entry() per transaction -- 2 legs, USD, between two DISTINCT accounts
-- drawn uniformly from :accounts accounts coded :prefix:000001 ... (zero-padded to :width digits).
-- Must run SERIALIZABLE (post_entry refuses anything else):
--   PGOPTIONS='-c default_transaction_isolation=serializable' \
--   pgbench -n -M prepared -c 32 -j 2 -T 15 --max-tries=10 --failures-detailed -f sql/bench/post_entry.sql \
--       -D accounts=100000 -D prefix=bench -D width=6 -D run=r1 -D n=0 DBNAME
-- Idempotency keys are unique by construction: :run (distinct per pgbench invocation) : client id : a
-- per-client counter :n (pgbench variables persist across a client's transactions; a retried transaction
-- re-executes the \set and so skips a number, which keeps the key unique).
\set a random(1, :accounts)
\set b random(1, :accounts - 1)
\set b case when :b >= :a then :b + 1 else :b end
\set amount random(1, 100000)
\set n :n + 1
SELECT entry_id
  FROM ledger.post_entry(
           :run::text || ':' || :client_id::text || ':' || :n::text,
           jsonb_build_array(
               jsonb_build_object('account', :prefix::text || ':' || lpad(:a::text, :width::integer, '0'),
                                  'amount', :amount::bigint, 'currency', 'USD'),
               jsonb_build_object('account', :prefix::text || ':' || lpad(:b::text, :width::integer, '0'),
                                  'amount', -(:amount::bigint), 'currency', 'USD')));
