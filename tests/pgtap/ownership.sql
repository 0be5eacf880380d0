-- dualbook_owner owns everything in the ledger schemas (deploy/owner_ledger.sql): the schemas, every table, view,
-- sequence, function and type, so the SECURITY DEFINER API runs as a NOLOGIN, non-superuser role that owns the
-- ledger and nothing else. A later change that creates an object as another role fails here.
BEGIN;
SELECT plan(13);

SELECT schema_owner_is('ledger', 'dualbook_owner', 'schema ledger is owned by dualbook_owner');
SELECT schema_owner_is('ledger_private', 'dualbook_owner', 'schema ledger_private is owned by dualbook_owner');
SELECT is_empty(
    $$SELECT c.oid::regclass::text, c.relkind, c.relowner::regrole::text FROM pg_class AS c
       WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND c.relowner <> 'dualbook_owner'::regrole$$,
    'every table, view, index and sequence of the ledger is owned by dualbook_owner');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text, p.proowner::regrole::text FROM pg_proc AS p
       WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND p.proowner <> 'dualbook_owner'::regrole$$,
    'every function of the ledger is owned by dualbook_owner');
SELECT is_empty(
    $$SELECT t.oid::regtype::text FROM pg_type AS t
       WHERE t.typnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         AND t.typowner <> 'dualbook_owner'::regrole$$,
    'every type of the ledger (row types included) is owned by dualbook_owner');
SELECT isnt_empty(
    $$SELECT 1 FROM pg_class WHERE relnamespace = 'ledger_private'::regnamespace AND relkind = 'S'$$,
    'the identity sequences are among them');
-- A few by name, as pgTAP spells them.
SELECT table_owner_is('ledger_private', 'posting', 'dualbook_owner', 'ledger_private.posting is owned by dualbook_owner');
SELECT table_owner_is('ledger_private', 'account', 'dualbook_owner', 'ledger_private.account is owned by dualbook_owner');
SELECT view_owner_is('ledger', 'accounts', 'dualbook_owner', 'ledger.accounts is owned by dualbook_owner');
SELECT sequence_owner_is('ledger_private', 'entry_entry_id_seq', 'dualbook_owner',
                         'the entry id sequence is owned by dualbook_owner');
SELECT function_owner_is('ledger', 'post_entry', ARRAY['text', 'jsonb', 'text', 'jsonb', 'date', 'jsonb', 'text'],
                         'dualbook_owner', 'ledger.post_entry is owned by dualbook_owner');
SELECT function_owner_is('ledger', 'sequence_deferred', ARRAY['integer'], 'dualbook_owner',
                         'ledger.sequence_deferred is owned by dualbook_owner');
-- The triggers that keep the journal append-only belong to tables the owner owns: only the owner (or a
-- superuser) can disable them.
SELECT is_empty(
    $$SELECT t.tgname FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
       WHERE c.relnamespace = 'ledger_private'::regnamespace AND NOT t.tgisinternal AND t.tgenabled <> 'O'$$,
    'every append-only trigger is enabled');

SELECT * FROM finish();
ROLLBACK;
