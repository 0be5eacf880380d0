-- REPEATABLE READ is not enough: the write functions demand SERIALIZABLE (LD301).
BEGIN;
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT plan(4);

SELECT is(current_setting('transaction_isolation'), 'repeatable read', 'this transaction is REPEATABLE READ');
SELECT throws_ok($$SELECT ledger.post_entry('rr:1', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                     {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD301', NULL, 'post_entry under REPEATABLE READ is LD301');
SELECT throws_ok($$SELECT ledger.create_account('rr:cash', 'USD', 'asset')$$,
                 'LD301', NULL, 'create_account under REPEATABLE READ is LD301');
SELECT throws_ok($$SELECT ledger.reverse_entry(1, 'rr:2')$$,
                 'LD301', NULL, 'reverse_entry under REPEATABLE READ is LD301');

SELECT * FROM finish();
ROLLBACK;
