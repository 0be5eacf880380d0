-- Verify dualbook:error_code_batch_fallback on pg

BEGIN;

DO $$
BEGIN
    ASSERT EXISTS (SELECT FROM ledger_private.error_catalog
                    WHERE sqlstate = 'LD306' AND name = 'batch_needs_per_entry_path' AND category = 'infrastructure'),
        'LD306 is not catalogued';
END
$$;

ROLLBACK;
