-- Verify dualbook:table_error_catalog on pg

BEGIN;

SELECT sqlstate, name, category, description FROM ledger.error_codes WHERE FALSE;
DO $$ BEGIN ASSERT (SELECT count(*) FROM ledger_private.error_catalog) >= 20, 'error catalog is not seeded'; END $$;

ROLLBACK;
