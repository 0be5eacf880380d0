-- Verify dualbook:table_account_fillfactor on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT 'fillfactor=10' = ANY (reloptions) FROM pg_class WHERE oid = 'ledger_private.account'::regclass),
           'ledger_private.account should have fillfactor 10';
END $$;

ROLLBACK;
