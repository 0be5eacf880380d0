-- The API and private schemas exist, are owned as intended, and PUBLIC has no way in.
BEGIN;
SELECT plan(6);

SELECT has_schema('ledger', 'schema ledger exists');
SELECT has_schema('ledger_private', 'schema ledger_private exists');
SELECT schema_owner_is('ledger', current_user, 'ledger is owned by the deploying role');
SELECT schema_owner_is('ledger_private', current_user, 'ledger_private is owned by the deploying role');
SELECT ok(NOT has_schema_privilege('public', 'ledger_private', 'USAGE'), 'PUBLIC cannot use ledger_private');
SELECT ok(NOT has_schema_privilege('public', 'ledger', 'CREATE'), 'PUBLIC cannot create objects in ledger');

SELECT * FROM finish();
ROLLBACK;
