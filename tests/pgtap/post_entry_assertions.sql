-- Balance assertions (p_assertions): each {"account", "op": "=" | ">=" | "<=", "balance"} is checked against
-- the account's normal balance after the entry (or its stored balance if the entry does not touch it). A
-- failing assertion is LD204, an unknown account LD201, a malformed assertion LD101; none of them writes.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(28);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: liability wallet');
SELECT ok((ledger.create_account('other', 'USD', 'liability')).created, 'setup: liability other');
SELECT ok((ledger.post_entry('as:0', '[{"account": "cash", "amount": 1000, "currency": "USD"},
                                      {"account": "wallet", "amount": -700, "currency": "USD"},
                                      {"account": "other", "amount": -300, "currency": "USD"}]')).created,
          'setup: cash 1000, wallet 700, other 300');

-- Assertions that hold (on the normal balance: the credit-normal wallet is positive).
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('as:1',
        '[{"account": "wallet", "amount": 200, "currency": "USD"},
          {"account": "cash", "amount": -200, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": 500},
                          {"account": "cash", "op": ">=", "balance": "800"},
                          {"account": "cash", "op": "<=", "balance": 800}]')$$,
    $$VALUES (true, '{"cash": 800, "wallet": 500}'::jsonb)$$,
    '=, >= and <= assertions that hold on the balances after the entry let it post');
SELECT lives_ok($$SELECT ledger.post_entry('as:2',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "other", "op": "=", "balance": 300}]')$$,
    'an assertion on an account the entry does not touch checks its stored balance');
SELECT lives_ok($$SELECT ledger.post_entry('as:3',
        '[{"account": "wallet", "amount": 1, "currency": "USD"},
          {"account": "cash", "amount": -1, "currency": "USD"}]',
        p_assertions => '[]')$$,
    'an empty assertion list is accepted');

CREATE TEMP TABLE snap_account AS SELECT code, balance, seq FROM ledger_private.account;
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before \gset

-- Assertions that fail: wallet is 399 now and would be 299 after the entry.
SELECT is((SELECT error_code FROM ledger.post_entry('as:4.1',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": 399}]')), 'LD204', 'an = assertion on the balance before the entry is LD204');
SELECT is((SELECT error_code FROM ledger.post_entry('as:4.2',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": ">=", "balance": 300}]')), 'LD204', 'a >= assertion that does not hold is LD204');
SELECT is((SELECT error_code FROM ledger.post_entry('as:4.3',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "cash", "op": "<=", "balance": 598}]')), 'LD204', 'a <= assertion that does not hold is LD204');
SELECT is((SELECT error_code FROM ledger.post_entry('as:4.4',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": -299}]')), 'LD204', 'an assertion on the debit-positive balance of a credit-normal account is LD204');
SELECT is((SELECT error_code FROM ledger.post_entry('as:4.5',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": 299},
                          {"account": "other", "op": "=", "balance": 0}]')), 'LD204', 'one failing assertion among holding ones is LD204');
SELECT is((SELECT error_code FROM ledger.post_entry('as:4.6',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "ghost", "op": "=", "balance": 0}]')), 'LD201', 'an assertion on an unknown account is LD201');

-- Malformed assertions.
SELECT throws_ok($$SELECT ledger.post_entry('as:4.7',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '{"account": "wallet", "op": "=", "balance": 299}')$$,
    'LD101', NULL, 'assertions that are not an array are LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.8',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "<", "balance": 300}]')$$,
    'LD101', NULL, 'an unknown op is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.9',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"op": "=", "balance": 299}]')$$,
    'LD101', NULL, 'an assertion without account is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.10',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "balance": 299}]')$$,
    'LD101', NULL, 'an assertion without op is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.11',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": 299.5}]')$$,
    'LD101', NULL, 'a non-integer balance is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.12',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": "9223372036854775808"}]')$$,
    'LD101', NULL, 'a balance beyond 2^63-1 is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.13',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": 299, "note": "x"}]')$$,
    'LD101', NULL, 'an unknown field in an assertion is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.14',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => (SELECT jsonb_agg(jsonb_build_object('account', 'cash', 'op', '>=', 'balance', 0))
                           FROM generate_series(1, 101)))$$,
    'LD101', NULL, 'more than 100 assertions are LD101');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.15',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "="}]')$$,
    'LD101', NULL, 'an assertion without balance is LD101 (not silently ignored)');
SELECT throws_ok($$SELECT ledger.post_entry('as:4.16',
        '[{"account": "wallet", "amount": 100, "currency": "USD"},
          {"account": "cash", "amount": -100, "currency": "USD"}]',
        p_assertions => '[{"account": "wallet", "op": "=", "balance": null}]')$$,
    'LD101', NULL, 'an assertion with a null balance is LD101');

SELECT is((SELECT count(*) FROM ledger_private.entry), :entries_before::bigint, 'no refused entry was written');
SELECT is((SELECT count(*) FROM ledger_private.posting), :postings_before::bigint, 'no refused posting was written');
SELECT set_eq('SELECT code, balance, seq FROM ledger_private.account', 'SELECT * FROM snap_account',
              'no account changed');
SELECT results_eq($$SELECT code, balance FROM ledger.accounts ORDER BY code$$,
                  $$VALUES ('cash', 699::bigint), ('other', 300::bigint), ('wallet', 399::bigint)$$,
                  'balances reflect only the entries whose assertions held');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
