-- The API and private schemas exist, are owned as intended, and PUBLIC has no way in.
BEGIN;
SELECT plan(8);

SELECT has_schema('ledger', 'schema ledger exists');
SELECT has_schema('ledger_private', 'schema ledger_private exists');
SELECT schema_owner_is('ledger', 'dualbook_owner', 'ledger is owned by dualbook_owner (not the deploying role)');
SELECT schema_owner_is('ledger_private', 'dualbook_owner', 'ledger_private is owned by dualbook_owner');
SELECT ok(NOT has_schema_privilege('public', 'ledger_private', 'USAGE'), 'PUBLIC cannot use ledger_private');
SELECT ok(NOT has_schema_privilege('public', 'ledger', 'CREATE'), 'PUBLIC cannot create objects in ledger');
SELECT ok(NOT has_schema_privilege('public', 'ledger_private', 'CREATE'), 'PUBLIC cannot create objects in ledger_private');
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_class AS c
       WHERE c.relnamespace = 'public'::regnamespace
         AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                          WHERE d.objid IN (c.oid, c.reltype) AND d.deptype = 'e')
      UNION ALL
      SELECT p.oid::regprocedure::text FROM pg_proc AS p
       WHERE p.pronamespace = 'public'::regnamespace
         AND NOT EXISTS (SELECT 1 FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')$$,
    'the ledger puts nothing in public (extensions installed by the tests aside)');

SELECT * FROM finish();
ROLLBACK;
