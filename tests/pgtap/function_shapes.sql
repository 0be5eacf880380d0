-- The shape of the SQL API: every function exists with its signature, return type and volatility; the API
-- functions (and only they) are SECURITY DEFINER with a pinned search_path; a role without grants cannot
-- reach the API or the private helpers, and PUBLIC has EXECUTE on no function of either schema.
BEGIN;
SELECT plan(61);

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
    'PUBLIC has EXECUTE on no ledger or ledger_private function');

-- The write API.
SELECT has_function('ledger', 'post_entry', ARRAY['text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'text'],
                    'ledger.post_entry(key, legs, description, metadata, effective_date, assertions, book) exists');
SELECT has_function('ledger', 'reverse_entry', ARRAY['bigint', 'text', 'text', 'text', 'date'],
                    'ledger.reverse_entry(entry_id, key, reason, book, effective_date) exists');
SELECT has_function('ledger', 'create_account', ARRAY['text', 'text', 'text', 'bigint', 'bigint', 'jsonb', 'text', 'boolean'],
                    'ledger.create_account(code, currency, type, lower, upper, metadata, book, deferred) exists');
SELECT has_function('ledger', 'close_account', ARRAY['text', 'text'], 'ledger.close_account(code, book) exists');
SELECT has_function('ledger', 'create_book', ARRAY['text', 'text'], 'ledger.create_book(code, name) exists');
SELECT has_function('ledger', 'create_currency', ARRAY['text', 'integer', 'text'],
                    'ledger.create_currency(code, exponent, name) exists');
-- The read API.
SELECT has_function('ledger', 'get_balance', ARRAY['text', 'text'], 'ledger.get_balance(account, book) exists');
SELECT has_function('ledger', 'get_entry', ARRAY['bigint', 'text'], 'ledger.get_entry(entry_id, book) exists');
SELECT has_function('ledger', 'get_entry_by_key', ARRAY['text', 'text'], 'ledger.get_entry_by_key(key, book) exists');
SELECT has_function('ledger', 'books_check', ARRAY[]::text[], 'ledger.books_check() exists');
SELECT has_function('ledger', 'get_currency', ARRAY['text'], 'ledger.get_currency(code) exists');
-- Private helpers.
SELECT has_function('ledger_private', 'post', ARRAY['text', 'text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'bigint'],
                    'ledger_private.post() exists');
SELECT has_function('ledger_private', 'require_serializable', ARRAY['text'], 'ledger_private.require_serializable() exists');
SELECT has_function('ledger_private', 'book_id', ARRAY['text'], 'ledger_private.book_id() exists');
SELECT has_function('ledger_private', 'add_checked', ARRAY['bigint', 'numeric', 'text'], 'ledger_private.add_checked() exists');
SELECT has_function('ledger_private', 'normal_balance', ARRAY['text', 'bigint'], 'ledger_private.normal_balance() exists');
SELECT has_function('ledger_private', 'checked_metadata', ARRAY['jsonb', 'text'], 'ledger_private.checked_metadata() exists');
SELECT has_function('ledger_private', 'entry_document', ARRAY['integer', 'bigint'], 'ledger_private.entry_document() exists');
SELECT has_function('ledger_private', 'forbid_change', ARRAY[]::text[], 'ledger_private.forbid_change() exists');

-- Return types (OUT parameters make a record).
SELECT function_returns('ledger', 'post_entry', ARRAY['text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'text'], 'record');
SELECT function_returns('ledger', 'reverse_entry', ARRAY['bigint', 'text', 'text', 'text', 'date'], 'record');
SELECT function_returns('ledger', 'create_account', ARRAY['text', 'text', 'text', 'bigint', 'bigint', 'jsonb', 'text', 'boolean'], 'record');
SELECT function_returns('ledger', 'close_account', ARRAY['text', 'text'], 'record');
SELECT function_returns('ledger', 'create_book', ARRAY['text', 'text'], 'record');
SELECT function_returns('ledger', 'create_currency', ARRAY['text', 'integer', 'text'], 'record');
SELECT function_returns('ledger', 'get_balance', ARRAY['text', 'text'], 'record');
SELECT function_returns('ledger', 'get_entry', ARRAY['bigint', 'text'], 'record');
SELECT function_returns('ledger', 'get_entry_by_key', ARRAY['text', 'text'], 'record');
SELECT function_returns('ledger', 'books_check', ARRAY[]::text[], 'setof record');
SELECT function_returns('ledger', 'get_currency', ARRAY['text'], 'record');
SELECT function_returns('ledger_private', 'forbid_change', ARRAY[]::text[], 'trigger');
SELECT results_eq(
    $$SELECT pg_get_function_result('ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'::regprocedure)$$,
    $$VALUES ('record')$$, 'post_entry returns a record of OUT parameters');
SELECT results_eq(
    $$SELECT array_agg(name COLLATE "default" ORDER BY ord)
        FROM pg_proc AS p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, ord)
       WHERE p.oid = 'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'::regprocedure AND mode = 'o'$$,
    $$VALUES (ARRAY['status', 'entry_id', 'created', 'recorded_at', 'balances', 'error_code', 'error_message',
                    'error_detail', 'error_hint'])$$,
    'post_entry returns status, entry_id, created, recorded_at, balances and the refusal''s columns');
SELECT results_eq(
    $$SELECT array_agg(name COLLATE "default" ORDER BY ord)
        FROM pg_proc AS p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(name, mode, ord)
       WHERE p.oid = 'ledger.reverse_entry(bigint, text, text, text, date)'::regprocedure AND mode = 'o'$$,
    $$VALUES (ARRAY['status', 'entry_id', 'created', 'recorded_at', 'balances', 'error_code', 'error_message',
                    'error_detail', 'error_hint'])$$,
    'reverse_entry returns the same columns as post_entry');

-- Volatility: writes are volatile, reads stable, pure helpers immutable.
SELECT volatility_is('ledger', 'post_entry', ARRAY['text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'text'], 'volatile');
SELECT volatility_is('ledger', 'reverse_entry', ARRAY['bigint', 'text', 'text', 'text', 'date'], 'volatile');
SELECT volatility_is('ledger', 'create_account', ARRAY['text', 'text', 'text', 'bigint', 'bigint', 'jsonb', 'text', 'boolean'], 'volatile');
SELECT volatility_is('ledger', 'close_account', ARRAY['text', 'text'], 'volatile');
SELECT volatility_is('ledger', 'create_book', ARRAY['text', 'text'], 'volatile');
SELECT volatility_is('ledger', 'create_currency', ARRAY['text', 'integer', 'text'], 'volatile');
SELECT volatility_is('ledger', 'get_balance', ARRAY['text', 'text'], 'stable');
SELECT volatility_is('ledger', 'get_entry', ARRAY['bigint', 'text'], 'stable');
SELECT volatility_is('ledger', 'get_entry_by_key', ARRAY['text', 'text'], 'stable');
SELECT volatility_is('ledger', 'books_check', ARRAY[]::text[], 'stable');
SELECT volatility_is('ledger', 'get_currency', ARRAY['text'], 'stable');
SELECT volatility_is('ledger_private', 'post', ARRAY['text', 'text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'bigint'], 'volatile');
SELECT volatility_is('ledger_private', 'add_checked', ARRAY['bigint', 'numeric', 'text'], 'immutable');
SELECT volatility_is('ledger_private', 'normal_balance', ARRAY['text', 'bigint'], 'immutable');
SELECT volatility_is('ledger_private', 'checked_metadata', ARRAY['jsonb', 'text'], 'immutable');

-- SECURITY DEFINER (pg_proc.prosecdef): exactly the API functions, each with a pinned search_path.
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace) AND p.prosecdef$$,
    $$VALUES ('ledger.post_entry(text,jsonb,text,jsonb,date,jsonb,text)'),
             ('ledger.reverse_entry(bigint,text,text,text,date)'),
             ('ledger.close_period(date,text)'),
             ('ledger.closed_through(text)'),
             ('ledger.balance_as_of(text,date,text)'),
             ('ledger.balance_as_recorded(text,bigint,timestamp with time zone,text)'),
             ('ledger.statement(text,date,date,text,integer,text)'),
             ('ledger.trial_balance_as_of(date,text)'),
             ('ledger.month_end_report(date,date,text)'),
             ('ledger.create_account(text,text,text,bigint,bigint,jsonb,text,boolean)'),
             ('ledger.sequence_deferred(integer)'),
             ('ledger.post_entries(jsonb,boolean,text)'),
             ('ledger.close_account(text,text)'),
             ('ledger.create_book(text,text)'),
             ('ledger.seal_journal(integer,integer)'),
             ('ledger.audit_verify()'),
             ('ledger.create_currency(text,integer,text)'),
             ('ledger.get_balance(text,text)'),
             ('ledger.get_entry(bigint,text)'),
             ('ledger.get_entry_by_key(text,text)'),
             ('ledger.get_outcome(text,text)'),
             ('ledger.get_currency(text)'),
             ('ledger.books_check()'),
             ('ledger.hold_entry(text,jsonb,text,jsonb,date,timestamp with time zone,text)'),
             ('ledger.capture_hold(bigint,text,bigint,text)'),
             ('ledger.void_hold(bigint,text,text)'),
             ('ledger.expire_holds(text,integer)'),
             ('ledger.get_hold(bigint,text)'),
             ('ledger.get_available(text,text)'),
             ('ledger.pending_as_of(timestamp with time zone,text)'),
             ('ledger.hold_requests(jsonb,text)')$$,
    'the API functions, and nothing in ledger_private, are SECURITY DEFINER');
SELECT ok(NOT (SELECT prosecdef FROM pg_proc WHERE oid = 'ledger_private.post(text,text,jsonb,text,jsonb,date,jsonb,bigint)'::regprocedure),
          'ledger_private.post is not SECURITY DEFINER (it runs with its caller''s, the API function''s, rights)');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace) AND p.prosecdef
         AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
    'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
-- Not only the SECURITY DEFINER ones: a helper they call resolves names with its own search_path. A helper
-- either pins it too, or has a SQL-standard body (BEGIN ATOMIC / RETURN), parsed once at CREATE time with
-- every name bound then, so no caller's search_path can reach it. Together with the pinned path this proves
-- that every name inside is schema-qualified or pg_catalog's: an unqualified ledger name would not resolve.
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
         AND p.prosqlbody IS NULL$$,
    'every ledger function pins search_path or has a pre-parsed SQL-standard body');
SELECT function_lang_is('ledger', 'post_entry', ARRAY['text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'text'], 'plpgsql',
                        'post_entry is a thin PL/pgSQL wrapper (its call is planned once per session, not per call)');
SELECT function_lang_is('ledger_private', 'post', ARRAY['text', 'text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'bigint'],
                        'plpgsql', 'the posting core is PL/pgSQL');
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND obj_description(p.oid, 'pg_proc') IS NULL$$,
    'every ledger function has a COMMENT');

-- Nobody gets in without grants.
SELECT ok(NOT has_schema_privilege('public', 'ledger_private', 'USAGE'), 'PUBLIC has no USAGE on ledger_private');
SELECT ok(NOT has_schema_privilege('public', 'ledger', 'USAGE'), 'PUBLIC has no USAGE on ledger');
CREATE ROLE dualbook_tap_nobody NOLOGIN NOSUPERUSER;
SET ROLE dualbook_tap_nobody;
SELECT throws_ok($$SELECT ledger_private.normal_balance('asset', 1)$$, '42501', NULL,
                 'a role without grants cannot call a ledger_private function');
SELECT throws_ok($$SELECT ledger.get_balance('cash')$$, '42501', NULL,
                 'a role without grants cannot call the API');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
