-- Revert dualbook:function_get_outcome from pg

BEGIN;

DROP FUNCTION ledger.get_outcome(text, text);

COMMIT;
