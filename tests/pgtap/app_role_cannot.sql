-- What dualbook_app cannot do (docs/security.md): read or write any table (SELECT, INSERT, UPDATE, DELETE,
-- TRUNCATE), read a view other than currencies, accounts and trial_balance, call an internal ledger_private
-- helper (but the two the accounts view calls), create a book or a currency, disable or drop a trigger (nor switch them off
-- with session_replication_role), create objects in the ledger schemas, alter, replace or re-own the API, pass
-- its EXECUTE on, or lock a table. Every refusal is 42501 insufficient_privilege.
-- The same list is run a second time as a role that also holds USAGE on ledger_private (a DBA's mistake): then
-- each refusal comes from the object's own privilege, not from the schema. And what the app can do still works.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;

CREATE TEMP TABLE tap_forbidden (n serial, what text, stmt text);
-- every table: the five statements
INSERT INTO tap_forbidden (what, stmt)
SELECT format('%s %s', op.verb, c.oid::regclass), format(op.tmpl, c.oid::regclass, a.attname)
  FROM pg_class AS c
  CROSS JOIN LATERAL (SELECT x.attname FROM pg_attribute AS x
                     WHERE x.attrelid = c.oid AND x.attnum > 0 AND NOT x.attisdropped AND x.attidentity = ''
                     ORDER BY x.attnum LIMIT 1) AS a
 CROSS JOIN (VALUES (1, 'SELECT from', 'SELECT 1 FROM %1$s LIMIT 1'),
                    (2, 'INSERT into', 'INSERT INTO %1$s DEFAULT VALUES'),
                    (3, 'UPDATE', 'UPDATE %1$s SET %2$I = %2$I WHERE false'),
                    (4, 'DELETE from', 'DELETE FROM %1$s WHERE false'),
                    (5, 'TRUNCATE', 'TRUNCATE %1$s')) AS op(k, verb, tmpl)
 WHERE c.relnamespace = 'ledger_private'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname, op.k;
-- every view but the three its client reads (currencies, accounts, trial_balance): the journal views, books,
-- the error catalog and the audit views are the reader's and the auditor's
INSERT INTO tap_forbidden (what, stmt)
SELECT format('SELECT from %s', c.oid::regclass), format('SELECT * FROM %s LIMIT 1', c.oid::regclass)
  FROM pg_class AS c WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind = 'v'
   AND c.oid NOT IN ('ledger.currencies'::regclass, 'ledger.accounts'::regclass, 'ledger.trial_balance'::regclass)
 ORDER BY c.relname;
-- every internal helper but the two the accounts view calls
INSERT INTO tap_forbidden (what, stmt)
SELECT format('call %s', p.oid::regprocedure),
       format('SELECT %s(%s)', p.oid::regproc,
              (SELECT string_agg(format('NULL::%s', format_type(t, NULL)), ', ') FROM unnest(p.proargtypes) AS t))
  FROM pg_proc AS p WHERE p.pronamespace = 'ledger_private'::regnamespace
   AND p.oid NOT IN ('ledger_private.normal_balance(text, bigint)'::regprocedure,
                     'ledger_private.int64_or_null(numeric)'::regprocedure)
 ORDER BY p.proname;
-- books and currencies are reference data, created by the migrator
INSERT INTO tap_forbidden (what, stmt) VALUES
    ('create a book', $$SELECT ledger.create_book('tap')$$),
    ('create a currency', $$SELECT ledger.create_currency('TAP', 2)$$);
-- every trigger: disable it, drop it
INSERT INTO tap_forbidden (what, stmt)
SELECT format('%s trigger %s on %s', op.verb, t.tgname, t.tgrelid::regclass), format(op.tmpl, t.tgrelid::regclass, t.tgname)
  FROM pg_trigger AS t
 CROSS JOIN (VALUES (1, 'disable', 'ALTER TABLE %1$s DISABLE TRIGGER %2$I'),
                    (2, 'drop', 'DROP TRIGGER %2$I ON %1$s')) AS op(k, verb, tmpl)
 WHERE NOT t.tgisinternal AND t.tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'ledger_private'::regnamespace)
 ORDER BY t.tgname, op.k;
INSERT INTO tap_forbidden (what, stmt) VALUES
    ('disable all triggers of posting', 'ALTER TABLE ledger_private.posting DISABLE TRIGGER ALL'),
    ('switch triggers off with session_replication_role', 'SET session_replication_role = replica'),
    ('add a trigger', 'CREATE TRIGGER tap_t BEFORE INSERT ON ledger_private.posting FOR EACH STATEMENT
                       EXECUTE FUNCTION ledger_private.forbid_change()'),
    ('create a table in ledger', 'CREATE TABLE ledger.tap_t (i int)'),
    ('create a table in ledger_private', 'CREATE TABLE ledger_private.tap_t (i int)'),
    ('create a view in ledger', 'CREATE VIEW ledger.tap_v AS SELECT 1 AS one'),
    ('create a function in ledger', 'CREATE FUNCTION ledger.tap_f() RETURNS int LANGUAGE sql RETURN 1'),
    ('create a function in ledger_private', 'CREATE FUNCTION ledger_private.tap_f() RETURNS int LANGUAGE sql RETURN 1'),
    ('create an index', 'CREATE INDEX tap_i ON ledger_private.posting (amount)'),
    ('create a schema', 'CREATE SCHEMA tap_s'),
    ('replace an API function', $$CREATE OR REPLACE FUNCTION ledger.get_currency(p_code text, OUT code text,
        OUT exponent smallint, OUT name text, OUT iso4217 boolean) LANGUAGE sql AS 'SELECT 1'$$),
    ('make post_entry SECURITY INVOKER',
     'ALTER FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) SECURITY INVOKER'),
    ('change post_entry''s search_path',
     'ALTER FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) SET search_path = public'),
    ('take post_entry over', 'ALTER FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) OWNER TO dualbook_app'),
    ('drop post_entry', 'DROP FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'),
    ('take a table over', 'ALTER TABLE ledger_private.account OWNER TO dualbook_app'),
    ('add a column', 'ALTER TABLE ledger_private.account ADD COLUMN tap_c int'),
    ('comment on a table', 'COMMENT ON TABLE ledger_private.posting IS ''mine'''),
    ('lock a table', 'LOCK TABLE ledger_private.account IN ACCESS EXCLUSIVE MODE'),
    ('grant itself a table', 'GRANT SELECT ON ledger_private.account TO dualbook_app');
-- (SET ROLE is checked against the session user, a superuser in this test: tests/pgtap/roles.sql proves that
-- dualbook_app is a member of no other role, and tests/python/test_security.py tries it in a real app session.)
GRANT SELECT ON tap_forbidden TO PUBLIC;

CREATE ROLE tap_app_with_usage NOLOGIN IN ROLE dualbook_app;
GRANT USAGE ON SCHEMA ledger_private TO tap_app_with_usage;

SELECT plan((SELECT count(*)::int FROM tap_forbidden) * 2 + 12);

SET LOCAL ROLE dualbook_app;
SELECT throws_ok(stmt, '42501', NULL, 'dualbook_app cannot ' || what) FROM tap_forbidden ORDER BY n;
RESET ROLE;

SET LOCAL ROLE tap_app_with_usage;
SELECT throws_ok(stmt, '42501', NULL, 'even with USAGE on ledger_private, the app cannot ' || what)
  FROM tap_forbidden ORDER BY n;
RESET ROLE;

-- What the app can do works, and it cannot hand its EXECUTE on (a warning, no grant).
SET LOCAL ROLE dualbook_app;
SELECT lives_ok($$SELECT ledger.create_account('tap:cash', 'USD', 'asset')$$, 'the app opens an account');
SELECT lives_ok($$SELECT ledger.create_account('tap:wallet', 'USD', 'liability', 0)$$, 'and another');
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('tap:1',
        '[{"account": "tap:cash", "amount": 500, "currency": "USD"},
          {"account": "tap:wallet", "amount": -500, "currency": "USD"}]')$$,
    $$VALUES (true, '{"tap:cash": 500, "tap:wallet": 500}'::jsonb)$$,
    'the app posts an entry');
SELECT is((SELECT balance FROM ledger.get_balance('tap:wallet')), 500::bigint, 'the app reads a balance');
SELECT is((SELECT exponent FROM ledger.get_currency('JPY')), 0::smallint, 'the app reads an exponent');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'the app runs books_check');
SELECT is((SELECT exponent FROM ledger.currencies WHERE code = 'JPY'), 0::smallint, 'the app reads ledger.currencies');
SELECT is((SELECT balance FROM ledger.accounts WHERE code = 'tap:wallet'), 500::bigint,
          'the app reads ledger.accounts');
SELECT is((SELECT net FROM ledger.trial_balance WHERE currency = 'USD'), 0::numeric,
          'the app reads ledger.trial_balance');
SELECT lives_ok('GRANT EXECUTE ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) TO PUBLIC',
                'GRANT of its own EXECUTE to PUBLIC is accepted with a warning...');
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)',
                                     'EXECUTE'), '... and grants nothing: the app holds no grant option');
SELECT is((SELECT count(*)::int FROM ledger_private.posting WHERE book_id = 1), 2,
          'the entry the app posted is in the journal, written by the API functions as dualbook_owner');

SELECT * FROM finish();
ROLLBACK;
