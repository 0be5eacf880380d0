-- Every report runs where a hot standby lets it: in a REPEATABLE READ READ ONLY transaction (a standby refuses
-- SERIALIZABLE). The reports only read, so they answer (or refuse a bad argument with its own code) here;
-- close_period writes and requires SERIALIZABLE (LD301). pgTAP's plan() creates its temporary bookkeeping first
-- (CREATE is refused in a read-only transaction; writing to a temporary table is not), then the transaction turns
-- read-only.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT plan(9);
SET TRANSACTION READ ONLY;

SELECT is(current_setting('transaction_read_only'), 'on', 'the transaction is read-only');
SELECT lives_ok($$SELECT * FROM ledger.trial_balance_as_of('2024-01-31')$$, 'trial_balance_as_of runs read-only');
SELECT lives_ok($$SELECT * FROM ledger.month_end_report('2024-01-01', '2024-01-31')$$,
                'month_end_report runs read-only');
SELECT lives_ok($$SELECT ledger.closed_through()$$, 'closed_through runs read-only');
SELECT throws_ok($$SELECT * FROM ledger.balance_as_of('no-such-account', '2024-01-31')$$, 'LD201', NULL,
                 'balance_as_of runs read-only (and refuses an unknown account)');
SELECT throws_ok($$SELECT * FROM ledger.balance_as_recorded('no-such-account', 1)$$, 'LD201', NULL,
                 'balance_as_recorded runs read-only');
SELECT throws_ok($$SELECT * FROM ledger.statement('no-such-account', '2024-01-01', '2024-01-31', '2024-01-05.1.1')$$,
                 'LD201', NULL, 'statement runs read-only, a cursor included');
SELECT throws_ok($$SELECT * FROM ledger.statement('x', '2024-01-01', '2024-01-31', 'nope')$$, 'LD116', NULL,
                 'a bad cursor is LD116 here too');
SELECT throws_ok($$SELECT * FROM ledger.close_period('2024-01-31')$$, 'LD301', NULL,
                 'close_period needs SERIALIZABLE (LD301)');

SELECT * FROM finish();
ROLLBACK;
