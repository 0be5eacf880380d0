-- pgbench workload of `make bench` (P2 hot account): a 3-leg payment through ledger.post_entry() -- debit a
-- random account A the amount, credit a distinct random account B the amount less a fee, credit the fee to ONE
-- house account (:prefix:house, an income account created with p_deferred => true and no limits, so its legs
-- are queued for the sequencer instead of updating its row). Accounts as in post_entry.sql. SERIALIZABLE:
--   PGOPTIONS='-c default_transaction_isolation=serializable' \
--   pgbench -n -M prepared -c 32 -j 2 -T 15 --max-tries=10 --failures-detailed -f sql/bench/hot_account.sql \
--       -D accounts=100000 -D prefix=bench -D width=6 -D run=r1 -D n=0 DBNAME
-- Run `SELECT ledger.sequence_deferred()` in a loop meanwhile (the bench does), or the queue only grows.
-- (The house code is spelt ':' || 'house' because pgbench would take a colon followed by a name, even in a
-- string literal, for a variable.)
\set a random(1, :accounts)
\set b random(1, :accounts - 1)
\set b case when :b >= :a then :b + 1 else :b end
\set amount random(100, 100000)
\set fee 1 + :amount / 100
\set n :n + 1
SELECT entry_id
  FROM ledger.post_entry(
           :run::text || ':' || :client_id::text || ':' || :n::text,
           jsonb_build_array(
               jsonb_build_object('account', :prefix::text || ':' || lpad(:a::text, :width::integer, '0'),
                                  'amount', :amount::bigint, 'currency', 'USD'),
               jsonb_build_object('account', :prefix::text || ':' || lpad(:b::text, :width::integer, '0'),
                                  'amount', -(:amount::bigint - :fee::bigint), 'currency', 'USD'),
               jsonb_build_object('account', :prefix::text || ':' || 'house',
                                  'amount', -(:fee::bigint), 'currency', 'USD')));
