-- Verify dualbook:table_currency on pg

BEGIN;

SELECT code, exponent, name, iso4217, created_at FROM ledger_private.currency WHERE FALSE;
DO $$ BEGIN ASSERT (SELECT exponent FROM ledger_private.currency WHERE code = 'BHD') = 3, 'ISO seed missing'; END $$;

ROLLBACK;
