-- History is append-only: UPDATE, DELETE and TRUNCATE of ledger_private.entry and ledger_private.posting raise
-- LD302 and change nothing, for the superuser and for an ordinary role holding every table privilege; even a
-- statement that matches no row is refused. Accounts, currencies and books are never deleted and their
-- identifying columns never change (LD302).
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(51);

SELECT trigger_is('ledger_private', 'entry', 'entry_append_only', 'ledger_private', 'forbid_change',
                  'entry has the append-only trigger');
SELECT trigger_is('ledger_private', 'posting', 'posting_append_only', 'ledger_private', 'forbid_change',
                  'posting has the append-only trigger');
SELECT trigger_is('ledger_private', 'account', 'account_no_delete', 'ledger_private', 'forbid_change',
                  'account has the no-delete trigger');
SELECT trigger_is('ledger_private', 'account', 'account_immutable_columns', 'ledger_private', 'forbid_change',
                  'account has the immutable-columns trigger');
SELECT trigger_is('ledger_private', 'currency', 'currency_immutable_columns', 'ledger_private', 'forbid_change',
                  'currency has the immutable-columns trigger');

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability')).created, 'setup: liability wallet');
SELECT ok((ledger.post_entry('ao:1', '[{"account": "cash", "amount": 300, "currency": "USD"},
                                      {"account": "wallet", "amount": -300, "currency": "USD"}]')).created,
          'setup: one entry');
SELECT ok((ledger.post_entry('ao:2', '[{"account": "wallet", "amount": 100, "currency": "USD"},
                                      {"account": "cash", "amount": -100, "currency": "USD"}]')).created,
          'setup: another entry');

CREATE TEMP TABLE snap_entry AS SELECT * FROM ledger_private.entry;
CREATE TEMP TABLE snap_posting AS SELECT * FROM ledger_private.posting;
CREATE TEMP TABLE snap_account AS SELECT * FROM ledger_private.account;
CREATE TEMP TABLE snap_currency AS SELECT * FROM ledger_private.currency;

-- As the superuser.
SELECT ok((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), 'these run as a superuser');
SELECT throws_ok($$UPDATE ledger_private.entry SET description = 'tampered'$$, 'LD302', NULL,
                 'superuser: UPDATE of entry is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.entry$$, 'LD302', NULL, 'superuser: DELETE from entry is LD302');
SELECT throws_ok($$TRUNCATE ledger_private.entry$$, 'LD302', NULL, 'superuser: TRUNCATE of entry is LD302');
SELECT throws_ok($$UPDATE ledger_private.posting SET amount = amount * 2$$, 'LD302', NULL,
                 'superuser: UPDATE of posting is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.posting$$, 'LD302', NULL, 'superuser: DELETE from posting is LD302');
SELECT throws_ok($$TRUNCATE ledger_private.posting$$, 'LD302', NULL, 'superuser: TRUNCATE of posting is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.posting WHERE false$$, 'LD302', NULL,
                 'a DELETE matching no row is refused too (statement-level trigger)');
SELECT throws_ok($$UPDATE ledger_private.entry SET description = description WHERE false$$, 'LD302', NULL,
                 'an UPDATE matching no row is refused too');

SELECT throws_ok($$DELETE FROM ledger_private.account WHERE code = 'cash'$$, 'LD302', NULL,
                 'superuser: DELETE of an account is LD302');
SELECT throws_ok($$TRUNCATE ledger_private.account$$, 'LD302', NULL, 'superuser: TRUNCATE of account is LD302');
SELECT throws_ok($$UPDATE ledger_private.account SET currency = 'EUR' WHERE code = 'cash'$$, 'LD302', NULL,
                 'superuser: UPDATE of an account''s currency is LD302');
SELECT throws_ok($$UPDATE ledger_private.account SET code = 'cash2' WHERE code = 'cash'$$, 'LD302', NULL,
                 'superuser: UPDATE of an account''s code is LD302');
SELECT throws_ok($$UPDATE ledger_private.account SET type = 'expense' WHERE code = 'cash'$$, 'LD302', NULL,
                 'superuser: UPDATE of an account''s type is LD302');
SELECT throws_ok($$UPDATE ledger_private.currency SET exponent = 3 WHERE code = 'USD'$$, 'LD302', NULL,
                 'superuser: UPDATE of a currency''s exponent is LD302');
SELECT throws_ok($$UPDATE ledger_private.currency SET code = 'USX' WHERE code = 'USD'$$, 'LD302', NULL,
                 'superuser: UPDATE of a currency''s code is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.currency WHERE code = 'JPY'$$, 'LD302', NULL,
                 'superuser: DELETE of a currency is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.book WHERE code = 'default'$$, 'LD302', NULL,
                 'superuser: DELETE of a book is LD302');
SELECT throws_ok($$UPDATE ledger_private.book SET code = 'renamed' WHERE code = 'default'$$, 'LD302', NULL,
                 'superuser: UPDATE of a book''s code is LD302');

-- As an ordinary role with every table privilege.
CREATE ROLE dualbook_tap_writer NOLOGIN NOSUPERUSER NOBYPASSRLS;
GRANT USAGE ON SCHEMA ledger_private TO dualbook_tap_writer;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE
   ON ledger_private.entry, ledger_private.posting, ledger_private.account, ledger_private.currency,
      ledger_private.book
   TO dualbook_tap_writer;
SET ROLE dualbook_tap_writer;
SELECT is(current_user::text, 'dualbook_tap_writer', 'now running as dualbook_tap_writer');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), 'dualbook_tap_writer is not a superuser');
SELECT ok(has_table_privilege('ledger_private.posting', 'UPDATE') AND has_table_privilege('ledger_private.posting', 'DELETE')
          AND has_table_privilege('ledger_private.posting', 'TRUNCATE'),
          'dualbook_tap_writer holds UPDATE, DELETE and TRUNCATE on posting');
SELECT throws_ok($$UPDATE ledger_private.entry SET description = 'tampered'$$, 'LD302', NULL,
                 'role: UPDATE of entry is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.entry$$, 'LD302', NULL, 'role: DELETE from entry is LD302');
SELECT throws_ok($$TRUNCATE ledger_private.entry$$, 'LD302', NULL, 'role: TRUNCATE of entry is LD302');
SELECT throws_ok($$UPDATE ledger_private.posting SET balance_after = 0$$, 'LD302', NULL,
                 'role: UPDATE of posting is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.posting$$, 'LD302', NULL, 'role: DELETE from posting is LD302');
SELECT throws_ok($$TRUNCATE ledger_private.posting$$, 'LD302', NULL, 'role: TRUNCATE of posting is LD302');
SELECT throws_ok($$DELETE FROM ledger_private.account WHERE code = 'wallet'$$, 'LD302', NULL,
                 'role: DELETE of an account is LD302');
SELECT throws_ok($$UPDATE ledger_private.account SET currency = 'EUR' WHERE code = 'wallet'$$, 'LD302', NULL,
                 'role: UPDATE of an account''s currency is LD302');
SELECT throws_ok($$UPDATE ledger_private.account SET code = 'wallet2' WHERE code = 'wallet'$$, 'LD302', NULL,
                 'role: UPDATE of an account''s code is LD302');
SELECT throws_ok($$UPDATE ledger_private.currency SET exponent = 0 WHERE code = 'EUR'$$, 'LD302', NULL,
                 'role: UPDATE of a currency''s exponent is LD302');
RESET ROLE;
SELECT is(current_user::text, session_user::text, 'back to the session user');

-- Nothing changed.
SELECT set_eq('SELECT * FROM ledger_private.entry', 'SELECT * FROM snap_entry', 'every entry row is unchanged');
SELECT set_eq('SELECT * FROM ledger_private.posting', 'SELECT * FROM snap_posting', 'every posting row is unchanged');
SELECT set_eq('SELECT * FROM ledger_private.account', 'SELECT * FROM snap_account', 'every account row is unchanged');
SELECT set_eq('SELECT * FROM ledger_private.currency', 'SELECT * FROM snap_currency', 'every currency row is unchanged');
SELECT is((SELECT count(*) FROM ledger_private.entry WHERE idempotency_key LIKE 'ao:%'), 2::bigint,
          'both entries are still there');
SELECT is((SELECT count(*) FROM ledger_private.posting), 4::bigint, 'all four postings are still there');
SELECT results_eq($$SELECT exponent FROM ledger.currencies WHERE code = 'USD'$$, $$VALUES (2::smallint)$$,
                  'USD still has exponent 2');

-- Appending still works, and the books balance.
SELECT ok((ledger.post_entry('ao:3', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                      {"account": "wallet", "amount": -1, "currency": "USD"}]')).created,
          'posting through the API still works');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
