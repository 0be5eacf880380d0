-- Revert dualbook:function_create_currency from pg

BEGIN;

DROP FUNCTION ledger.create_currency(text, integer, text);

COMMIT;
