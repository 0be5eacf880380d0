-- Verify dualbook:table_book on pg

BEGIN;

SELECT book_id, code, name, created_at FROM ledger_private.book WHERE FALSE;
DO $$ BEGIN ASSERT EXISTS (SELECT 1 FROM ledger_private.book WHERE code = 'default'), 'default book missing'; END $$;

ROLLBACK;
