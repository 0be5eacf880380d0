-- Every write function refuses to run outside a SERIALIZABLE transaction (LD301), before it looks at its
-- arguments, and writes nothing. This file deliberately stays READ COMMITTED. The read API works in any
-- isolation level.
BEGIN;
SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
SELECT plan(13);

SELECT is(current_setting('transaction_isolation'), 'read committed', 'this transaction is READ COMMITTED');

SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before,
       (SELECT count(*) FROM ledger_private.account) AS accounts_before,
       (SELECT count(*) FROM ledger_private.book) AS books_before,
       (SELECT count(*) FROM ledger_private.currency) AS currencies_before \gset

SELECT throws_ok($$SELECT ledger.post_entry('rc:1', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                     {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD301', NULL, 'post_entry under READ COMMITTED is LD301');
SELECT throws_ok($$SELECT ledger.post_entry(NULL, NULL)$$,
                 'LD301', NULL, 'post_entry checks the isolation level before its arguments');
SELECT throws_ok($$SELECT ledger.reverse_entry(1, 'rc:2')$$,
                 'LD301', NULL, 'reverse_entry under READ COMMITTED is LD301');
SELECT throws_ok($$SELECT ledger.create_account('rc:cash', 'USD', 'asset')$$,
                 'LD301', NULL, 'create_account under READ COMMITTED is LD301');
SELECT throws_ok($$SELECT ledger.close_account('rc:cash')$$,
                 'LD301', NULL, 'close_account under READ COMMITTED is LD301');
SELECT throws_ok($$SELECT ledger.create_book('rc-book')$$,
                 'LD301', NULL, 'create_book under READ COMMITTED is LD301');
SELECT throws_ok($$SELECT ledger.create_currency('RCX', 2)$$,
                 'LD301', NULL, 'create_currency under READ COMMITTED is LD301');

SELECT results_eq(
    $$SELECT (SELECT count(*) FROM ledger_private.entry), (SELECT count(*) FROM ledger_private.posting),
             (SELECT count(*) FROM ledger_private.account), (SELECT count(*) FROM ledger_private.book),
             (SELECT count(*) FROM ledger_private.currency)$$,
    format('VALUES (%s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint)',
           :entries_before, :postings_before, :accounts_before, :books_before, :currencies_before),
    'nothing was written');

-- Reads need no particular isolation level.
SELECT lives_ok('SELECT * FROM ledger.books_check()', 'books_check() runs under READ COMMITTED');
SELECT throws_ok($$SELECT ledger.get_balance('rc:nobody')$$, 'LD201', NULL,
                 'get_balance runs under READ COMMITTED (and reports LD201, not LD301)');
SELECT throws_ok($$SELECT ledger.get_entry(-1)$$, 'LD208', NULL,
                 'get_entry runs under READ COMMITTED (and reports LD208, not LD301)');
SELECT throws_ok($$SELECT ledger.get_entry_by_key('rc:none')$$, 'LD208', NULL,
                 'get_entry_by_key runs under READ COMMITTED (and reports LD208, not LD301)');

SELECT * FROM finish();
ROLLBACK;
