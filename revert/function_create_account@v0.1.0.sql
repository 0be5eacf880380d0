-- Revert dualbook:function_create_account from pg

BEGIN;

DROP FUNCTION ledger.close_account(text, text);
DROP FUNCTION ledger.create_account(text, text, text, bigint, bigint, jsonb, text);

COMMIT;
