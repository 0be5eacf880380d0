-- Revert dualbook:function_post_entries from pg

BEGIN;

DROP FUNCTION ledger.post_entries(jsonb, boolean, text);
DROP FUNCTION ledger_private.post_batch_entry(text, jsonb);
DROP FUNCTION ledger_private.post_batch_set(integer, jsonb);
DELETE FROM ledger_private.error_catalog WHERE sqlstate = 'LD110';

COMMIT;
