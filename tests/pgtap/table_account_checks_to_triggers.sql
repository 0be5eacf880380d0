-- The account's attribute constraints run in triggers (same names, SQLSTATE 23514) on INSERT and on UPDATE of
-- the columns they read; balance and seq keep their CHECKs; the immutable columns are guarded by a
-- statement-level trigger (LD302 for any UPDATE that sets one of them); a balance update fires nothing of it.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(35);

-- Shape.
SELECT trigger_is('ledger_private', 'account', 'account_checks_on_insert', 'ledger_private', 'account_check_row',
                  'account has the insert check trigger');
SELECT trigger_is('ledger_private', 'account', 'account_checks_on_update', 'ledger_private', 'account_check_row',
                  'account has the update check trigger');
SELECT trigger_is('ledger_private', 'account', 'account_immutable_columns', 'ledger_private', 'forbid_change',
                  'account keeps its immutable-columns trigger');
SELECT is_empty($$SELECT tgname FROM pg_trigger
                   WHERE tgrelid = 'ledger_private.account'::regclass AND NOT tgisinternal
                     AND tgtype & 1 <> 0 AND tgtype & 2 <> 0 AND tgtype & 16 <> 0$$,
                'no BEFORE ... FOR EACH ROW UPDATE trigger on account (it would lock every updated row first)');
SELECT results_eq($$SELECT tgtype & 1 = 0, (SELECT array_agg(a.attname::text COLLATE "default" ORDER BY a.attname)
                                            FROM unnest(t.tgattr) AS k JOIN pg_attribute AS a
                                              ON a.attrelid = t.tgrelid AND a.attnum = k)
                      FROM pg_trigger AS t
                     WHERE t.tgrelid = 'ledger_private.account'::regclass AND t.tgname = 'account_immutable_columns'$$,
                  $$VALUES (true, ARRAY['account_id', 'book_id', 'code', 'created_at', 'currency', 'type'])$$,
                  'account_immutable_columns is statement-level, on the six immutable columns');
SELECT bag_eq($$SELECT conname::text COLLATE "default" FROM pg_constraint
                 WHERE conrelid = 'ledger_private.account'::regclass AND contype = 'c'$$,
              $$VALUES ('account_balance_check'), ('account_seq_check')$$,
              'account keeps exactly the balance and seq CHECK constraints');

-- Setup.
SELECT ok((ledger.create_account('ck:cash', 'USD', 'asset')).created, 'setup: asset ck:cash');
SELECT ok((ledger.create_account('ck:wallet', 'USD', 'liability', p_lower_limit => 0)).created,
          'setup: liability ck:wallet with a lower limit');
SELECT ok((ledger.post_entry('ck:1', '[{"account": "ck:cash", "amount": 500, "currency": "USD"},
                                      {"account": "ck:wallet", "amount": -500, "currency": "USD"}]')).created,
          'a posting updates balances through the new triggers');

-- INSERT: every former CHECK, by name.
PREPARE ins(text, text, text, jsonb, bigint, bigint, boolean, timestamptz) AS
    INSERT INTO ledger_private.account (book_id, code, currency, type, status, metadata, lower_limit, upper_limit,
                                        deferred, closed_at)
    VALUES (1, $1, 'USD', $2, $3, $4, $5, $6, $7, $8);
SELECT throws_ok($$EXECUTE ins('bad code', 'asset', 'open', '{}', NULL, NULL, false, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_code_check"',
                 'INSERT: a code outside the pattern');
SELECT throws_ok($$EXECUTE ins('ck:x', 'cash', 'open', '{}', NULL, NULL, false, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_type_check"',
                 'INSERT: an unknown type');
SELECT throws_ok($$EXECUTE ins('ck:x', 'asset', 'frozen', '{}', NULL, NULL, false, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_status_check"',
                 'INSERT: an unknown status');
SELECT throws_ok($$EXECUTE ins('ck:x', 'asset', 'open', '[]', NULL, NULL, false, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_metadata_check"',
                 'INSERT: metadata that is not an object');
SELECT throws_ok($$EXECUTE ins('ck:x', 'asset', 'open', '{}', 10, 5, false, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_check"',
                 'INSERT: lower limit above upper limit');
SELECT throws_ok($$EXECUTE ins('ck:x', 'asset', 'closed', '{}', NULL, NULL, false, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_check1"',
                 'INSERT: closed without closed_at');
SELECT throws_ok($$EXECUTE ins('ck:x', 'asset', 'open', '{}', NULL, NULL, false, now())$$, '23514',
                 'new row for relation "account" violates check constraint "account_check1"',
                 'INSERT: closed_at on an open account');
SELECT throws_ok($$EXECUTE ins('ck:x', 'asset', 'open', '{}', 0, NULL, true, NULL)$$, '23514',
                 'new row for relation "account" violates check constraint "account_deferred_has_no_limits"',
                 'INSERT: a deferred account with a limit');
SELECT lives_ok($$EXECUTE ins('ck:direct', 'asset', 'open', '{}', NULL, NULL, false, NULL)$$,
                'INSERT: a valid row passes');

-- UPDATE of the attribute columns.
SELECT throws_ok($$UPDATE ledger_private.account SET status = 'frozen' WHERE code = 'ck:cash'$$, '23514', NULL,
                 'UPDATE: an unknown status');
SELECT throws_ok($$UPDATE ledger_private.account SET metadata = '"x"' WHERE code = 'ck:cash'$$, '23514', NULL,
                 'UPDATE: metadata that is not an object');
SELECT throws_ok($$UPDATE ledger_private.account SET upper_limit = -1 WHERE code = 'ck:wallet'$$, '23514', NULL,
                 'UPDATE: an upper limit below the lower limit');
SELECT throws_ok($$UPDATE ledger_private.account SET status = 'closed' WHERE code = 'ck:cash'$$, '23514', NULL,
                 'UPDATE: closed without closed_at');
SELECT throws_ok($$UPDATE ledger_private.account SET deferred = true WHERE code = 'ck:wallet'$$, '23514', NULL,
                 'UPDATE: deferred with a limit');
SELECT lives_ok($$UPDATE ledger_private.account SET metadata = '{"note": 1}' WHERE code = 'ck:direct'$$,
                'UPDATE: a valid attribute change passes');

-- The CHECKs that stay.
SELECT throws_ok($$UPDATE ledger_private.account SET balance = -9223372036854775808 WHERE code = 'ck:direct'$$,
                 '23514', NULL, 'balance -2^63 is still refused by account_balance_check');
SELECT throws_ok($$UPDATE ledger_private.account SET seq = -1 WHERE code = 'ck:direct'$$,
                 '23514', NULL, 'a negative seq is still refused by account_seq_check');

-- The immutable columns: any UPDATE that sets one is refused, even to the same value or matching no row.
SELECT throws_ok($$UPDATE ledger_private.account SET code = code WHERE code = 'ck:cash'$$, 'LD302', NULL,
                 'setting code to itself is refused');
SELECT throws_ok($$UPDATE ledger_private.account SET currency = 'EUR' WHERE false$$, 'LD302', NULL,
                 'an UPDATE of currency matching no row is refused');
SELECT throws_ok($$UPDATE ledger_private.account SET created_at = now() WHERE code = 'ck:cash'$$, 'LD302', NULL,
                 'UPDATE of created_at is LD302');
SELECT throws_ok($$UPDATE ledger_private.account SET book_id = book_id, balance = 0 WHERE code = 'ck:cash'$$,
                 'LD302', NULL, 'an immutable column among other SET columns is refused');

-- The write path still checks and posts; close_account still passes the status checks.
SELECT is((SELECT error_code FROM ledger.post_entry('ck:2', '[{"account": "ck:wallet", "amount": 600, "currency": "USD"},
                                                     {"account": "ck:cash", "amount": -600, "currency": "USD"}]')), 'LD203', 'limits are still enforced');
SELECT ok((ledger.post_entry('ck:3', '[{"account": "ck:wallet", "amount": 500, "currency": "USD"},
                                      {"account": "ck:cash", "amount": -500, "currency": "USD"}]')).created,
          'a posting back to zero');
SELECT isnt((ledger.close_account('ck:cash')).closed_at, NULL, 'close_account sets status and closed_at together');
SELECT results_eq($$SELECT status, balance, seq FROM ledger_private.account WHERE code = 'ck:cash'$$,
                  $$VALUES ('closed'::text, 0::bigint, 2::bigint)$$, 'the closed account kept its balance and seq');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
