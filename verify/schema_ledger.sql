-- Verify dualbook:schema_ledger on pg

BEGIN;

DO $$
BEGIN
    ASSERT to_regnamespace('ledger') IS NOT NULL, 'schema ledger is missing';
    ASSERT to_regnamespace('ledger_private') IS NOT NULL, 'schema ledger_private is missing';
    ASSERT NOT has_schema_privilege('public', 'ledger_private', 'USAGE'), 'PUBLIC can use ledger_private';
END
$$;

ROLLBACK;
