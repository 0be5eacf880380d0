-- Batch posting: one row per entry in order; a rejected entry leaves nothing and the others post; replays
-- inside a batch; p_atomic is all or nothing and names the failing entry; shape and size errors.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(19);

SELECT lives_ok($$SELECT * FROM ledger.create_account('cash', 'USD', 'asset')$$, 'cash');
SELECT lives_ok($$SELECT * FROM ledger.create_account('wallet', 'USD', 'liability', 0)$$, 'wallet, no overdraft');

CREATE TEMP TABLE r AS
SELECT * FROM ledger.post_entries($$[
  {"key": "b1", "legs": [{"account": "cash", "amount": 100, "currency": "USD"}, {"account": "wallet", "amount": -100, "currency": "USD"}]},
  {"key": "b2", "legs": [{"account": "wallet", "amount": 500, "currency": "USD"}, {"account": "cash", "amount": -500, "currency": "USD"}]},
  {"key": "b1", "legs": [{"account": "cash", "amount": 100, "currency": "USD"}, {"account": "wallet", "amount": -100, "currency": "USD"}]},
  {"key": "b3", "legs": [{"account": "wallet", "amount": 40, "currency": "USD"}, {"account": "cash", "amount": -40, "currency": "USD"}],
   "description": "d", "metadata": {"m": 1}, "effective_date": "2026-01-31",
   "assertions": [{"account": "wallet", "op": "=", "balance": 60}]},
  {"key": "b4", "legs": [], "unknown": true},
  {"key": "b1", "legs": [{"account": "cash", "amount": 7, "currency": "USD"}, {"account": "wallet", "amount": -7, "currency": "USD"}]}
]$$);

SELECT results_eq('SELECT idx, status, error_code FROM r ORDER BY idx',
    $$VALUES (1, 'posted', NULL::text), (2, 'refused', 'LD203'), (3, 'replayed', NULL), (4, 'posted', NULL),
             (5, 'rejected', 'LD101'), (6, 'rejected', 'LD205')$$,
    'one row per entry, in order, each with its own outcome');
SELECT is((SELECT entry_id FROM r WHERE idx = 3), (SELECT entry_id FROM r WHERE idx = 1),
          'a key repeated inside the batch replays the entry posted earlier in it');
SELECT is((SELECT (error_detail::jsonb) ->> 'account' FROM r WHERE idx = 2), 'wallet', 'a refusal carries its DETAIL');
SELECT is((SELECT (error_detail::jsonb) ->> 'refusal' FROM r WHERE idx = 2), 'recorded',
          'an overdraft is a refusal recorded with its key');
SELECT results_eq($$SELECT sqlstate FROM ledger_private.refusal ORDER BY idempotency_key$$, $$VALUES ('LD203')$$,
                  'only the refusal is recorded: a malformed entry (LD101) or a reused key (LD205) is not');
SELECT results_eq(
    $$SELECT status, error_code, created FROM ledger.post_entries('[
        {"key": "b2", "legs": [{"account": "wallet", "amount": 500, "currency": "USD"}, {"account": "cash", "amount": -500, "currency": "USD"}]}]')$$,
    $$VALUES ('refused', 'LD203', false)$$,
    'the refused key replays its recorded refusal in a later batch, though the wallet could pay it now');
SELECT is((SELECT balance FROM ledger.get_balance('wallet')), 60::bigint, 'only the good entries moved money');
SELECT is((SELECT count(*)::int FROM ledger_private.entry), 2, 'rejected entries left no header behind');
SELECT is((SELECT effective_date FROM ledger.entries WHERE idempotency_key = 'b3'), '2026-01-31'::date,
          'optional fields are passed through');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'the books balance');

SELECT throws_ok($$SELECT * FROM ledger.post_entries('[
  {"key": "a1", "legs": [{"account": "cash", "amount": 5, "currency": "USD"}, {"account": "wallet", "amount": -5, "currency": "USD"}]},
  {"key": "a2", "legs": [{"account": "wallet", "amount": 999, "currency": "USD"}, {"account": "cash", "amount": -999, "currency": "USD"}]}
]', true)$$, 'LD203', NULL, 'atomic: the first failure is raised with its own code');
SELECT is((SELECT count(*)::int FROM ledger_private.entry WHERE idempotency_key = 'a1'), 0, 'atomic: nothing posted');
PREPARE atomic_fail AS SELECT * FROM ledger.post_entries('[
  {"key": "a1", "legs": [{"account": "cash", "amount": 5, "currency": "USD"}, {"account": "wallet", "amount": -5, "currency": "USD"}]},
  {"key": "a2", "legs": [{"account": "nobody", "amount": 1, "currency": "USD"}, {"account": "cash", "amount": -1, "currency": "USD"}]}
]', true);
SELECT throws_like('atomic_fail', 'entry 2:%', 'atomic: the message names the failing entry');

SELECT throws_ok($$SELECT * FROM ledger.post_entries('[]')$$, 'LD110', NULL, 'an empty batch');
SELECT throws_ok($$SELECT * FROM ledger.post_entries((SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 1001)))$$,
                 'LD110', NULL, 'more than 1000 entries');
SELECT throws_ok($$SELECT * FROM ledger.post_entries('{"key": "x"}')$$, 'LD101', NULL, 'not an array');
SELECT throws_ok($$SELECT * FROM ledger.post_entries('[{"key": "x", "legs": []}]', NULL)$$, 'LD101', NULL, 'p_atomic NULL');

SELECT * FROM finish();
ROLLBACK;
