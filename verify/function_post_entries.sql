-- Verify dualbook:function_post_entries on pg

BEGIN;

SELECT 'ledger.post_entries(jsonb, boolean, text)'::regprocedure,
       'ledger_private.post_batch_entry(text, jsonb)'::regprocedure,
       'ledger_private.post_batch_set(integer, jsonb)'::regprocedure,
       'ledger_private.lock_accounts(integer, text[])'::regprocedure;
DO $$ BEGIN ASSERT EXISTS (SELECT 1 FROM ledger.error_codes WHERE sqlstate = 'LD110'), 'LD110 missing'; END $$;
DO $$
BEGIN
    ASSERT position('refused' IN pg_get_functiondef('ledger.post_entries(jsonb, boolean, text)'::regprocedure)) > 0,
        'ledger.post_entries does not return refusals';
END
$$;

ROLLBACK;
