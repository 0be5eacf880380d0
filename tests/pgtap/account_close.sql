-- ledger.close_account(): closes an account at zero balance (LD207 otherwise, and it stays open); closing a
-- closed account is a no-op; a closed account refuses postings and is never reopened (LD202); unknown account
-- LD201, book LD210 (NULL book LD101).
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(22);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: liability wallet');
SELECT ok((ledger.create_account('unused', 'USD', 'asset')).created, 'setup: asset unused');
SELECT ok((ledger.post_entry('cl:1', '[{"account": "cash", "amount": 900, "currency": "USD"},
                                      {"account": "wallet", "amount": -900, "currency": "USD"}]')).created,
          'setup: wallet holds 900');

-- An account that never had postings.
SELECT results_eq(
    $$SELECT account_id, closed_at FROM ledger.close_account('unused')$$,
    $$SELECT account_id, now() FROM ledger.accounts WHERE code = 'unused'$$,
    'closing a zero-balance account returns its id and closed_at = now()');
SELECT results_eq($$SELECT status, closed_at FROM ledger.accounts WHERE code = 'unused'$$,
                  $$VALUES ('closed', now())$$, 'the account is closed');
SELECT results_eq($$SELECT status FROM ledger.get_balance('unused')$$, $$VALUES ('closed')$$,
                  'get_balance() reports status closed');
SELECT results_eq(
    $$SELECT account_id, closed_at FROM ledger.close_account('unused')$$,
    $$SELECT account_id, closed_at FROM ledger.accounts WHERE code = 'unused'$$,
    'closing it again is a no-op returning the original closed_at');
SELECT is((SELECT error_code FROM ledger.post_entry('cl:2.1', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "unused", "amount": -1, "currency": "USD"}]')), 'LD202', 'posting to a closed account is LD202');
SELECT is((SELECT error_code FROM ledger.post_entry('cl:2.2', '[{"account": "unused", "amount": 1, "currency": "USD"},
                                                    {"account": "unused", "amount": -1, "currency": "USD"},
                                                    {"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')), 'LD202', 'even legs that net to zero on a closed account are LD202');
SELECT throws_ok($$SELECT ledger.create_account('unused', 'USD', 'asset')$$, 'LD202', NULL,
                 'create_account() of a closed account''s code, same attributes, is LD202 (never reopened)');

-- A non-zero account cannot be closed.
SELECT throws_ok($$SELECT ledger.close_account('wallet')$$, 'LD207', NULL, 'closing a non-zero account is LD207');
SELECT results_eq($$SELECT status, closed_at, balance FROM ledger.accounts WHERE code = 'wallet'$$,
                  $$VALUES ('open', NULL::timestamptz, 900::bigint)$$, 'after LD207 the account is still open');
SELECT throws_ok($$SELECT ledger.close_account('cash')$$, 'LD207', NULL,
                 'closing a non-zero asset is LD207 too');

-- Once its balance is moved away, it can be closed.
SELECT ok((ledger.post_entry('cl:3', '[{"account": "wallet", "amount": 900, "currency": "USD"},
                                      {"account": "cash", "amount": -900, "currency": "USD"}]')).created,
          'the wallet is paid out to zero');
SELECT results_eq($$SELECT closed_at FROM ledger.close_account('wallet')$$, $$VALUES (now())$$,
                  'an account with postings closes at zero balance');
SELECT results_eq($$SELECT status, balance, postings FROM ledger.accounts WHERE code = 'wallet'$$,
                  $$VALUES ('closed', 0::bigint, 2::bigint)$$, 'the closed account keeps its history');

-- Unknown account, unknown book.
SELECT throws_ok($$SELECT ledger.close_account('ghost')$$, 'LD201', NULL, 'closing an unknown account is LD201');
SELECT throws_ok($$SELECT ledger.close_account(NULL)$$, 'LD201', NULL, 'closing a NULL code is LD201');
SELECT throws_ok($$SELECT ledger.close_account('cash', 'no-such-book')$$, 'LD210', NULL, 'an unknown book is LD210');
SELECT throws_ok($$SELECT ledger.close_account('cash', NULL)$$, 'LD101', NULL, 'a NULL book is LD101');

SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
