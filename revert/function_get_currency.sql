-- Revert dualbook:function_get_currency from pg

BEGIN;

DROP FUNCTION ledger.get_currency(text);

COMMIT;
