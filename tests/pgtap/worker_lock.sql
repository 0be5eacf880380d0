-- The workers' locks and the limits the application cannot lift (docs/security.md §7): the sequencer and the
-- sealer lock rows of a table no role but the owner may lock (not advisory keys anyone can take); the functions
-- that take locks pin lock_timeout; every login role has a connection limit, with room left for the operations
-- roles. Sessions holding locks against each other are in tests/python/test_availability.py.
BEGIN;
SELECT plan(11);

SELECT set_eq('SELECT purpose FROM ledger_private.worker_lock', ARRAY['sequence_deferred', 'seal_journal'],
              'one lock row per worker');
SELECT table_privs_are('ledger_private', 'worker_lock', 'dualbook_app', ARRAY[]::text[],
                       'the application has no privilege on the workers'' locks');
SELECT table_privs_are('ledger_private', 'worker_lock', 'dualbook_sequencer', ARRAY[]::text[],
                       'nor the sequencer: only its functions, as the owner, lock them');

SET LOCAL ROLE dualbook_app;
SELECT throws_ok('SELECT 1 FROM ledger_private.worker_lock FOR UPDATE', '42501', NULL,
                 'the application cannot lock a worker''s row');
SELECT throws_ok('LOCK TABLE ledger_private.worker_lock IN ACCESS SHARE MODE', '42501', NULL,
                 'nor the table');
RESET ROLE;

SELECT ok(position('pg_try_advisory' IN pg_get_functiondef('ledger.sequence_deferred(integer)'::regprocedure)) = 0
          AND position('pg_try_advisory' IN pg_get_functiondef('ledger.seal_journal(integer, integer)'::regprocedure)) = 0,
          'no worker uses an advisory lock any more');
SELECT is((SELECT c FROM pg_proc AS p CROSS JOIN unnest(p.proconfig) AS c
            WHERE p.oid = 'ledger.close_account(text, text)'::regprocedure AND c LIKE 'lock_timeout=%'),
          'lock_timeout=2s', 'close_account pins lock_timeout');
SELECT is((SELECT c FROM pg_proc AS p CROSS JOIN unnest(p.proconfig) AS c
            WHERE p.oid = 'ledger.sequence_deferred(integer)'::regprocedure AND c LIKE 'lock_timeout=%'),
          'lock_timeout=5s', 'sequence_deferred pins lock_timeout');
SELECT is((SELECT c FROM pg_proc AS p CROSS JOIN unnest(p.proconfig) AS c
            WHERE p.oid = 'ledger.seal_journal(integer, integer)'::regprocedure AND c LIKE 'lock_timeout=%'),
          'lock_timeout=5s', 'seal_journal pins lock_timeout');

SELECT is_empty($$SELECT rolname FROM pg_roles
                   WHERE rolname IN ('dualbook_app', 'dualbook_sequencer', 'dualbook_reader', 'dualbook_auditor',
                                     'dualbook_migrator') AND rolconnlimit < 0$$,
                'every login role has a connection limit');
SELECT cmp_ok((SELECT sum(rolconnlimit)::integer FROM pg_roles
                WHERE rolname IN ('dualbook_app', 'dualbook_sequencer', 'dualbook_reader', 'dualbook_auditor',
                                  'dualbook_migrator')),
              '<=', current_setting('max_connections')::integer - current_setting('superuser_reserved_connections')::integer,
              'the limits fit in the connections the server allows, so the operations roles keep their share');

SELECT * FROM finish();
ROLLBACK;
