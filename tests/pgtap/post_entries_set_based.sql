-- Batch posting, set-based path: a batch that posts entirely is written by ledger_private.post_batch_set()
-- (no call of ledger_private.post()) with exactly the rows the per-entry path writes: entry ids in batch order,
-- per-account sequence numbers and running balances across the batch (several legs and entries on one
-- account), deferred legs queued, balances after each entry; a batch it cannot post entirely (here a limit hit
-- by the third entry) falls back to the per-entry path and gets the same per-entry outcomes.
-- tests/python/test_post_entries_paths.py compares the two paths on random batches.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(13);

SELECT lives_ok($$SELECT * FROM ledger.create_account('cash', 'USD', 'asset')$$, 'cash');
SELECT lives_ok($$SELECT * FROM ledger.create_account('wallet', 'USD', 'liability', 0)$$, 'wallet, no overdraft');
SELECT lives_ok($$SELECT * FROM ledger.create_account('fees', 'USD', 'income', p_deferred => true)$$, 'fees, deferred');

SET LOCAL dualbook.post_entries_path = 'set';
SET LOCAL track_functions = 'pl';  -- counts the calls of ledger_private.post()
CREATE TEMP TABLE r AS
SELECT * FROM ledger.post_entries($$[
  {"key": "s1", "legs": [{"account": "cash", "amount": 100, "currency": "USD"}, {"account": "wallet", "amount": -100, "currency": "USD"}]},
  {"key": "s2", "legs": [{"account": "wallet", "amount": 30, "currency": "USD"}, {"account": "cash", "amount": "-28", "currency": "USD"},
                          {"account": "fees", "amount": -2, "currency": "USD"}], "description": "pay", "metadata": {"o": 1}},
  {"key": "s3", "legs": [{"account": "cash", "amount": 5, "currency": "USD"}, {"account": "cash", "amount": -5, "currency": "USD"}],
   "effective_date": "2026-01-31"},
  {"key": "s4", "legs": [{"account": "wallet", "amount": 10, "currency": "USD"}, {"account": "fees", "amount": -10, "currency": "USD"}]}
]$$);

SELECT is((SELECT coalesce(sum(calls), 0)::int FROM pg_stat_xact_user_functions
            WHERE schemaname = 'ledger_private' AND funcname = 'post'), 0,
          'the whole batch went the set-based way (ledger_private.post() not called)');
SELECT results_eq('SELECT idx, status, created, balances FROM r ORDER BY idx',
    $$VALUES (1, 'posted', true, '{"cash": 100, "wallet": 100}'::jsonb),
             (2, 'posted', true, '{"cash": 72, "wallet": 70}'),
             (3, 'posted', true, '{"cash": 72}'),
             (4, 'posted', true, '{"wallet": 60}')$$,
    'one row per entry, with the normal balances just after it (deferred accounts left out)');
SELECT ok((SELECT array_agg(entry_id ORDER BY idx) = array_agg(entry_id ORDER BY entry_id) FROM r),
          'entry ids in batch order');
SELECT results_eq($$SELECT e.idempotency_key, p.leg::int, a.code, p.amount, p.account_seq, p.balance_after
                      FROM ledger_private.posting p JOIN ledger_private.entry e USING (book_id, entry_id)
                      JOIN ledger_private.account a USING (book_id, account_id) ORDER BY p.entry_id, p.leg$$,
    $$VALUES ('s1', 1, 'cash', 100::bigint, 1::bigint, 100::bigint), ('s1', 2, 'wallet', -100, 1, -100),
             ('s2', 1, 'wallet', 30, 2, -70), ('s2', 2, 'cash', -28, 2, 72), ('s2', 3, 'fees', -2, NULL, NULL),
             ('s3', 1, 'cash', 5, 3, 77), ('s3', 2, 'cash', -5, 4, 72),
             ('s4', 1, 'wallet', 10, 3, -60), ('s4', 2, 'fees', -10, NULL, NULL)$$,
    'postings: gapless sequence and running balance per account across the batch; deferred legs unsequenced');
SELECT results_eq($$SELECT e.idempotency_key, q.leg::int, q.amount FROM ledger_private.deferred_leg q
                      JOIN ledger_private.entry e USING (book_id, entry_id) ORDER BY q.queue_id$$,
    $$VALUES ('s2', 3, -2::bigint), ('s4', 2, -10)$$, 'deferred legs queued in batch order');
SELECT results_eq($$SELECT idempotency_key, description, metadata, effective_date = '2026-01-31'
                      FROM ledger_private.entry ORDER BY entry_id$$,
    $$VALUES ('s1', NULL::text, '{}'::jsonb, false), ('s2', 'pay', '{"o": 1}', false), ('s3', NULL, '{}', true),
             ('s4', NULL, '{}', false)$$,
    'entry headers as the per-entry path writes them');
SELECT results_eq($$SELECT created FROM ledger.post_entry('s2',
                      '[{"account": "wallet", "amount": 30, "currency": "USD"}, {"account": "cash", "amount": -28, "currency": "USD"},
                        {"account": "fees", "amount": -2, "currency": "USD"}]', 'pay', '{"o": 1}')$$,
    $$VALUES (false)$$, 'the request hash is post_entry''s: the same request replays');

-- The third entry overdraws the wallet: the batch falls back and each entry gets its own outcome.
CREATE TEMP TABLE f AS
SELECT * FROM ledger.post_entries($$[
  {"key": "f1", "legs": [{"account": "wallet", "amount": 50, "currency": "USD"}, {"account": "cash", "amount": -50, "currency": "USD"}]},
  {"key": "f2", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "fees", "amount": -1, "currency": "USD"}]},
  {"key": "f3", "legs": [{"account": "wallet", "amount": 20, "currency": "USD"}, {"account": "cash", "amount": -20, "currency": "USD"}]},
  {"key": "f4", "legs": [{"account": "cash", "amount": 3, "currency": "USD"}, {"account": "wallet", "amount": -3, "currency": "USD"}]}
]$$);
SELECT results_eq('SELECT idx, status, error_code, balances FROM f ORDER BY idx',
    $$VALUES (1, 'posted', NULL::text, '{"cash": 22, "wallet": 10}'::jsonb), (2, 'posted', NULL, '{"cash": 23}'),
             (3, 'refused', 'LD203', NULL), (4, 'posted', NULL, '{"cash": 26, "wallet": 13}')$$,
    'a batch the set-based path cannot post entirely: the per-entry outcomes');
SELECT is((SELECT coalesce(sum(calls), 0)::int FROM pg_stat_xact_user_functions
            WHERE schemaname = 'ledger_private' AND funcname = 'post'), 5,
          'that batch went the per-entry way: ledger_private.post() once per entry (and once for the post_entry above)');
SELECT is((SELECT count(*)::int FROM ledger.books_check()), 0, 'the books check');

SELECT * FROM finish();
ROLLBACK;
