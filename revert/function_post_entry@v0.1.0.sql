-- Revert dualbook:function_post_entry from pg

BEGIN;

DROP FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text);
DROP FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint);

COMMIT;
