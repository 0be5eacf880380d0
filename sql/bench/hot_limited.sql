-- pgbench workload of `make bench` (P2b hot limited accounts): every entry debits one of 10 accounts that carry
-- a no-overdraft limit (:prefix:limited:01 ... :prefix:limited:10, liabilities with lower_limit 0, funded by
-- the bench first so the limit is checked but never hit) and credits a random account among :accounts.
-- A limited account's balance must be read and its row updated by every entry: 10 rows that every client
-- writes, under SERIALIZABLE (first updater wins) -- the inherent floor of a design with hot limited accounts.
-- (The codes are spelt ':' || 'limited' || ':' because pgbench takes a colon and a name for a variable even in a
-- string literal.)
--   PGOPTIONS='-c default_transaction_isolation=serializable' \
--   pgbench -n -M prepared -c 32 -j 2 -T 15 --max-tries=10 --failures-detailed -f sql/bench/hot_limited.sql \
--       -D accounts=100000 -D prefix=bench -D width=6 -D run=r1 -D n=0 DBNAME
\set w random(1, 10)
\set b random(1, :accounts)
\set amount random(1, 100000)
\set n :n + 1
SELECT entry_id
  FROM ledger.post_entry(
           :run::text || ':' || :client_id::text || ':' || :n::text,
           jsonb_build_array(
               jsonb_build_object('account', :prefix::text || ':' || 'limited' || ':' || lpad(:w::text, 2, '0'),
                                  'amount', :amount::bigint, 'currency', 'USD'),
               jsonb_build_object('account', :prefix::text || ':' || lpad(:b::text, :width::integer, '0'),
                                  'amount', -(:amount::bigint), 'currency', 'USD')));
