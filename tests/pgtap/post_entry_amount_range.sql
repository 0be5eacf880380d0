-- 64-bit edges: a leg amount may be 9223372036854775807 (2^63-1) when the entry balances; 2^63 is LD106
-- (as a JSON number or string), as are -2^63 (the range is symmetric) and a sum of legs on one account beyond
-- 2^63-1; a balance that would leave the 64-bit range is LD211, also when only an intermediate running balance
-- (several legs on one account) would. Nothing is written by a refused entry.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(23);

SELECT ok((ledger.create_account('big', 'USD', 'asset')).created, 'setup: asset big');
SELECT ok((ledger.create_account('owed', 'USD', 'liability')).created, 'setup: liability owed');
SELECT ok((ledger.create_account('p', 'USD', 'asset')).created, 'setup: asset p');
SELECT ok((ledger.create_account('q', 'USD', 'asset')).created, 'setup: asset q');

-- The largest leg amount.
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('big:1',
        '[{"account": "big", "amount": 9223372036854775807, "currency": "USD"},
          {"account": "owed", "amount": -9223372036854775807, "currency": "USD"}]')$$,
    $$VALUES (true, '{"big": 9223372036854775807, "owed": 9223372036854775807}'::jsonb)$$,
    'a leg amount of 9223372036854775807 is accepted when the entry balances');
SELECT results_eq(
    $$SELECT code, balance, debit_balance FROM ledger.accounts WHERE code IN ('big', 'owed') ORDER BY code$$,
    $$VALUES ('big', 9223372036854775807::bigint, 9223372036854775807::bigint),
             ('owed', 9223372036854775807, -9223372036854775807)$$,
    'balances at the edge of the 64-bit range: normal and debit-positive');
SELECT results_eq(
    $$SELECT account, amount, balance_after FROM ledger.postings WHERE account IN ('big', 'owed') ORDER BY leg$$,
    $$VALUES ('big', 9223372036854775807::bigint, 9223372036854775807::bigint),
             ('owed', -9223372036854775807, 9223372036854775807)$$,
    'the postings hold the edge amounts and running balances');

CREATE TEMP TABLE snap_account AS SELECT code, balance, seq FROM ledger_private.account;
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before \gset

-- Leg amounts beyond 2^63-1.
SELECT throws_ok($$SELECT ledger.post_entry('big:2',
        '[{"account": "p", "amount": 9223372036854775808, "currency": "USD"},
          {"account": "q", "amount": -9223372036854775808, "currency": "USD"}]')$$,
    'LD106', NULL, 'a leg amount of 9223372036854775808 (JSON number) is LD106');
SELECT throws_ok($$SELECT ledger.post_entry('big:3',
        '[{"account": "p", "amount": "9223372036854775808", "currency": "USD"},
          {"account": "q", "amount": "-9223372036854775808", "currency": "USD"}]')$$,
    'LD106', NULL, 'a leg amount of "9223372036854775808" (JSON string) is LD106');
SELECT throws_ok($$SELECT ledger.post_entry('big:4',
        '[{"account": "p", "amount": 100000000000000000000000000000, "currency": "USD"},
          {"account": "q", "amount": -100000000000000000000000000000, "currency": "USD"}]')$$,
    'LD106', NULL, 'a 30-digit leg amount is LD106');
SELECT throws_ok($$SELECT ledger.post_entry('big:4',
        '[{"account": "p", "amount": "-9223372036854775808", "currency": "USD"},
          {"account": "q", "amount": "9223372036854775807", "currency": "USD"},
          {"account": "q", "amount": "1", "currency": "USD"}]')$$,
    'LD106', NULL, 'the range is symmetric: a leg amount of -2^63 is LD106');
-- Legs that each fit but sum beyond the range on one account.
SELECT throws_ok($$SELECT ledger.post_entry('big:5',
        '[{"account": "p", "amount": 9223372036854775807, "currency": "USD"},
          {"account": "p", "amount": 1, "currency": "USD"},
          {"account": "q", "amount": -9223372036854775807, "currency": "USD"},
          {"account": "q", "amount": -1, "currency": "USD"}]')$$,
    'LD106', NULL, 'legs on one account summing to 2^63 are LD106');

-- Balances that would overflow.
SELECT is((SELECT error_code FROM ledger.post_entry('big:6',
        '[{"account": "big", "amount": 1, "currency": "USD"},
          {"account": "p", "amount": -1, "currency": "USD"}]')), 'LD211', 'a debit of 1 on a balance of 2^63-1 is LD211');
SELECT is((SELECT error_code FROM ledger.post_entry('big:7',
        '[{"account": "p", "amount": 1, "currency": "USD"},
          {"account": "owed", "amount": -1, "currency": "USD"}]')), 'LD211', 'a credit of 1 on a debit balance of -(2^63-1) is LD211');
SELECT is((SELECT error_code FROM ledger.post_entry('big:8',
        '[{"account": "p", "amount": 9223372036854775807, "currency": "USD"},
          {"account": "p", "amount": 1, "currency": "USD"},
          {"account": "p", "amount": -1, "currency": "USD"},
          {"account": "q", "amount": -9223372036854775807, "currency": "USD"}]')), 'LD211', 'an intermediate running balance beyond 2^63-1 is LD211 even if the final one fits');

SELECT is((SELECT count(*) FROM ledger_private.entry), :entries_before::bigint, 'no entry was written');
SELECT is((SELECT count(*) FROM ledger_private.posting), :postings_before::bigint, 'no posting was written');
SELECT set_eq('SELECT code, balance, seq FROM ledger_private.account', 'SELECT * FROM snap_account',
              'no account changed');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows with balances at the edge');

-- Moving back from the edge works.
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('big:9',
        '[{"account": "owed", "amount": "9223372036854775807", "currency": "USD"},
          {"account": "big", "amount": "-9223372036854775807", "currency": "USD"}]')$$,
    $$VALUES ('{"big": 0, "owed": 0}'::jsonb)$$,
    'the edge amount as a string takes both balances back to 0');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

-- LD106's HINT says how much range the currency's exponent leaves, and what to do.
SELECT lives_ok($$SELECT ledger.create_currency('AR18', 18, 'an 18-decimal token')$$, 'setup: a currency of exponent 18');
CREATE TEMP TABLE ar_hint (hint text);
DO $$
DECLARE
    v_hint text;
BEGIN
    PERFORM ledger.post_entry('ar:hint', '[{"account": "x", "amount": "10000000000000000000", "currency": "AR18"},
                                           {"account": "y", "amount": "-10000000000000000000", "currency": "AR18"}]');
EXCEPTION WHEN SQLSTATE 'LD106' THEN
    GET STACKED DIAGNOSTICS v_hint = PG_EXCEPTION_HINT;
    INSERT INTO ar_hint VALUES (v_hint);
END
$$;
SELECT matches((SELECT hint FROM ar_hint), '9\.22 units of AR18 \(exponent 18\).*smaller exponent',
               'LD106''s HINT names the range of the currency''s exponent and what to do');

SELECT * FROM finish();
ROLLBACK;
