-- Privileges of every role on every table, view and function of the ledger (deploy/grant_ledger.sql,
-- docs/security.md), as pgTAP's table_privs_are / function_privs_are over the catalog: one test per role and
-- object, against the expectations below. An object a later change adds is expected to grant nothing to anyone
-- but the owner until this file says otherwise. Then the same from other angles: column-level grants,
-- sequences, schemas, the database, and PUBLIC.
BEGIN;

CREATE TEMP TABLE tap_roles (role name PRIMARY KEY);
INSERT INTO tap_roles VALUES ('dualbook_owner'), ('dualbook_migrator'), ('dualbook_app'), ('dualbook_sequencer'),
                             ('dualbook_reader'), ('dualbook_auditor');

-- Expected privileges on relations (none if not listed). The owner and, through it, the migrator have all.
CREATE TEMP TABLE tap_rel_expected (role name, rel regclass, privs name[]);
INSERT INTO tap_rel_expected
SELECT r.role, c.oid, ARRAY['DELETE', 'INSERT', 'REFERENCES', 'SELECT', 'TRIGGER', 'TRUNCATE', 'UPDATE']::name[]
  FROM pg_class AS c, (VALUES ('dualbook_owner'), ('dualbook_migrator')) AS r(role)
 WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace) AND c.relkind IN ('r', 'v', 'm', 'p', 'f');
INSERT INTO tap_rel_expected
SELECT 'dualbook_app', v::regclass, ARRAY['SELECT']::name[]
  FROM unnest(ARRAY['ledger.currencies', 'ledger.accounts', 'ledger.trial_balance']) AS v  -- grant_app_read_views
UNION ALL
SELECT 'dualbook_reader', v::regclass, ARRAY['SELECT']::name[]
  FROM unnest(ARRAY['ledger.books', 'ledger.currencies', 'ledger.accounts', 'ledger.entries', 'ledger.postings',
                    'ledger.trial_balance', 'ledger.error_codes']) AS v
UNION ALL
SELECT 'dualbook_auditor', v::regclass, ARRAY['SELECT']::name[]
  FROM unnest(ARRAY['ledger.entries', 'ledger.postings', 'ledger.audit_entries', 'ledger.audit_postings',
                    'ledger.audit_seals', 'ledger.audit_sealed_entries',
                    -- the export and status of the audit (grant_auditor_export)
                    'ledger.books', 'ledger.currencies', 'ledger.accounts']) AS v;

-- Expected EXECUTE (none if not listed).
CREATE TEMP TABLE tap_fn_expected (role name, fn regprocedure);
INSERT INTO tap_fn_expected
SELECT r.role, p.oid
  FROM pg_proc AS p, (VALUES ('dualbook_owner'), ('dualbook_migrator')) AS r(role)
 WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace);
INSERT INTO tap_fn_expected
SELECT 'dualbook_app', f::regprocedure
  FROM unnest(ARRAY[-- not create_book nor create_currency: reference data, the migrator's (revoke_app_create_book_currency)
                    'ledger.create_account(text, text, text, bigint, bigint, jsonb, text, boolean)',
                    'ledger.close_account(text, text)',
                    'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)',
                    'ledger.post_entries(jsonb, boolean, text)',
                    'ledger.reverse_entry(bigint, text, text, text, date)', 'ledger.get_balance(text, text)',
                    'ledger.get_entry(bigint, text)', 'ledger.get_entry_by_key(text, text)',
                    'ledger.get_outcome(text, text)', 'ledger.get_currency(text)', 'ledger.books_check()',
                    -- reports and period close (the service exposes close_period to administrators only)
                    'ledger.close_period(date, text)', 'ledger.closed_through(text)',
                    'ledger.balance_as_of(text, date, text)',
                    'ledger.balance_as_recorded(text, bigint, timestamp with time zone, text)',
                    'ledger.statement(text, date, date, text, integer, text)', 'ledger.trial_balance_as_of(date, text)',
                    'ledger.month_end_report(date, date, text)',
                    -- holds (the holds change)
                    'ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text)',
                    'ledger.capture_hold(bigint, text, bigint, text)', 'ledger.void_hold(bigint, text, text)',
                    'ledger.expire_holds(text, integer)', 'ledger.get_hold(bigint, text)',
                    'ledger.get_available(text, text)', 'ledger.pending_as_of(timestamptz, text)',
                    'ledger.hold_requests(jsonb, text)',
                    -- called by ledger.accounts, checked against the view's caller (grant_app_read_views)
                    'ledger_private.normal_balance(text, bigint)', 'ledger_private.int64_or_null(numeric)']) AS f
UNION ALL
SELECT 'dualbook_sequencer', f::regprocedure
  FROM unnest(ARRAY['ledger.sequence_deferred(integer)', 'ledger.seal_journal(integer, integer)']) AS f
UNION ALL
SELECT 'dualbook_reader', f::regprocedure
  FROM unnest(ARRAY['ledger.get_balance(text, text)', 'ledger.get_entry(bigint, text)',
                    'ledger.get_entry_by_key(text, text)', 'ledger.get_outcome(text, text)',
                    'ledger.get_currency(text)', 'ledger.books_check()', 'ledger.closed_through(text)',
                    'ledger.balance_as_of(text, date, text)',
                    'ledger.balance_as_recorded(text, bigint, timestamp with time zone, text)',
                    'ledger.statement(text, date, date, text, integer, text)', 'ledger.trial_balance_as_of(date, text)',
                    'ledger.month_end_report(date, date, text)',
                    'ledger.get_hold(bigint, text)', 'ledger.get_available(text, text)',
                    'ledger.pending_as_of(timestamptz, text)',
                    -- called by ledger.accounts / ledger.postings, checked against the view's caller
                    'ledger_private.normal_balance(text, bigint)',
                    'ledger_private.int64_or_null(numeric)']) AS f
UNION ALL
SELECT 'dualbook_auditor', f::regprocedure
  FROM unnest(ARRAY['ledger.books_check()', 'ledger.audit_verify()', 'ledger.closed_through(text)',
                    'ledger_private.normal_balance(text, bigint)',
                    'ledger_private.int64_or_null(numeric)', 'ledger_private.audit_timestamp(timestamptz)',
                    'ledger_private.audit_date(date)']) AS f;

SELECT plan(
    (SELECT count(*)::int FROM pg_class
      WHERE relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
        AND relkind IN ('r', 'v', 'm', 'p', 'f')) * 6
    + (SELECT count(*)::int FROM pg_proc
        WHERE pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)) * 6
    + 14);

-- 1. Every role on every relation.
SELECT table_privs_are(n.nspname, c.relname, r.role, coalesce(e.privs, '{}'::name[]),
                       format('%s: %s on %s.%s', r.role,
                              coalesce(nullif(array_to_string(e.privs, ', '), ''), 'nothing'), n.nspname, c.relname))
  FROM pg_class AS c
  JOIN pg_namespace AS n ON n.oid = c.relnamespace
 CROSS JOIN tap_roles AS r
  LEFT JOIN tap_rel_expected AS e ON e.role = r.role AND e.rel = c.oid
 WHERE n.nspname IN ('ledger', 'ledger_private') AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
 ORDER BY n.nspname, c.relname, r.role;

-- 2. Every role on every function.
SELECT function_privs_are(n.nspname, p.proname,
                          ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) AS t)::name[],
                          r.role, CASE WHEN e.fn IS NULL THEN '{}'::name[] ELSE ARRAY['EXECUTE']::name[] END,
                          format('%s: %s on %s', r.role, CASE WHEN e.fn IS NULL THEN 'no EXECUTE' ELSE 'EXECUTE' END,
                                 p.oid::regprocedure))
  FROM pg_proc AS p
  JOIN pg_namespace AS n ON n.oid = p.pronamespace
 CROSS JOIN tap_roles AS r
  LEFT JOIN tap_fn_expected AS e ON e.role = r.role AND e.fn = p.oid
 WHERE n.nspname IN ('ledger', 'ledger_private')
 ORDER BY n.nspname, p.oid::regprocedure::text, r.role;

-- 3. No column-level grant adds to that: any column privilege is backed by the same table privilege.
SELECT is_empty(
    $$SELECT r.role, c.oid::regclass, p.priv
        FROM pg_class AS c
       CROSS JOIN (VALUES ('dualbook_app'), ('dualbook_sequencer'), ('dualbook_reader'), ('dualbook_auditor'),
                          ('public')) AS r(role)
       CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) AS p(priv)
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
         AND has_any_column_privilege(r.role, c.oid, p.priv) AND NOT has_table_privilege(r.role, c.oid, p.priv)$$,
    'no column-level privilege for any role');

-- 4. Sequences: nobody but the owner.
SELECT is_empty(
    $$SELECT r.role, c.oid::regclass, p.priv
        FROM pg_class AS c
       CROSS JOIN (VALUES ('dualbook_app'), ('dualbook_sequencer'), ('dualbook_reader'), ('dualbook_auditor'),
                          ('public')) AS r(role)
       CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace) AND c.relkind = 'S'
         AND has_sequence_privilege(r.role, c.oid, p.priv)$$,
    'no role but the owner may use, read or set a ledger sequence');

-- 5. Schemas: USAGE on ledger for the four login roles; nothing on ledger_private; CREATE for nobody.
SELECT set_eq(
    $$SELECT r.role, s.nsp, p.priv
        FROM (VALUES ('dualbook_app'), ('dualbook_sequencer'), ('dualbook_reader'), ('dualbook_auditor'),
                     ('public')) AS r(role)
       CROSS JOIN (VALUES ('ledger'), ('ledger_private')) AS s(nsp)
       CROSS JOIN (VALUES ('USAGE'), ('CREATE')) AS p(priv)
       WHERE has_schema_privilege(r.role, s.nsp, p.priv)$$,
    $$VALUES ('dualbook_app', 'ledger', 'USAGE'), ('dualbook_sequencer', 'ledger', 'USAGE'),
             ('dualbook_reader', 'ledger', 'USAGE'), ('dualbook_auditor', 'ledger', 'USAGE')$$,
    'schema privileges: USAGE on ledger for the four login roles, nothing else for anyone');
SELECT ok(has_schema_privilege('dualbook_migrator', 'ledger_private', 'CREATE'),
          'the migrator creates in the ledger schemas (through dualbook_owner)');
SELECT is_empty(
    $$SELECT r.role FROM (VALUES ('dualbook_app'), ('dualbook_sequencer'), ('dualbook_reader'),
                                 ('dualbook_auditor')) AS r(role)
       WHERE has_database_privilege(r.role, current_database(), 'CREATE')$$,
    'no login role but the migrator may create a schema in the database');

-- 6. PUBLIC: nothing on any relation or function of the ledger.
SELECT is_empty(
    $$SELECT c.oid::regclass, p.priv FROM pg_class AS c
       CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND has_table_privilege('public', c.oid, p.priv)$$,
    'PUBLIC has no privilege on any ledger relation');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'PUBLIC may execute no ledger function');

-- 7. The app in one sentence: EXECUTE on the API, SELECT on the three views its client reads, no privilege on
-- any table.
SELECT set_eq(
    $$SELECT c.oid::regclass::text, p.priv FROM pg_class AS c
       CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND (has_table_privilege('dualbook_app', c.oid, p.priv)
              OR (p.priv IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                  AND has_any_column_privilege('dualbook_app', c.oid, p.priv)))$$,
    $$VALUES ('ledger.currencies', 'SELECT'), ('ledger.accounts', 'SELECT'), ('ledger.trial_balance', 'SELECT')$$,
    'dualbook_app has no privilege on any table, and reads exactly the views currencies, accounts, trial_balance');
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND has_function_privilege('dualbook_app', p.oid, 'EXECUTE')$$,
    $$SELECT fn::text FROM tap_fn_expected WHERE role = 'dualbook_app'$$,
    'dualbook_app may execute exactly its API (not sequence_deferred, create_book, create_currency; in '
    'ledger_private only the accounts view''s helpers)');
SELECT ok(NOT has_function_privilege('dualbook_app', 'ledger.sequence_deferred(integer)', 'EXECUTE'),
          'the sequencer is not the app''s (it has its own role and limits)');
SELECT is((SELECT count(*)::int FROM tap_fn_expected WHERE role = 'dualbook_app' AND fn::text LIKE 'ledger.%'), 26,
          'the app''s API is 26 functions');

-- 8. The reader and the auditor: read-only, by role setting too.
SELECT is_empty(
    $$SELECT r.role, c.oid::regclass, p.priv
        FROM pg_class AS c
       CROSS JOIN (VALUES ('dualbook_reader'), ('dualbook_auditor'), ('dualbook_sequencer')) AS r(role)
       CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND (has_table_privilege(r.role, c.oid, p.priv)
              OR (p.priv IN ('INSERT', 'UPDATE', 'REFERENCES') AND has_any_column_privilege(r.role, c.oid, p.priv)))$$,
    'the reader, the auditor and the sequencer may write no relation');
SELECT is_empty(
    $$SELECT c.oid::regclass FROM pg_class AS c
       WHERE c.relnamespace = 'ledger_private'::regnamespace
         AND (has_table_privilege('dualbook_reader', c.oid, 'SELECT')
              OR has_table_privilege('dualbook_auditor', c.oid, 'SELECT'))$$,
    'the reader and the auditor read the views, never a table');
SELECT set_eq(
    $$SELECT c.oid::regclass::text FROM pg_class AS c
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND has_table_privilege('dualbook_auditor', c.oid, 'SELECT')$$,
    $$VALUES ('ledger.entries'), ('ledger.postings'), ('ledger.audit_entries'), ('ledger.audit_postings'),
             ('ledger.audit_seals'), ('ledger.audit_sealed_entries'), ('ledger.books'), ('ledger.currencies'),
             ('ledger.accounts')$$,
    'the auditor reads the journal: entries and postings, the audit views of journal and seals, and the books, '
    'currencies and accounts its export holds');

SELECT * FROM finish();
ROLLBACK;
