-- Revert dualbook:function_reverse_entry from pg

BEGIN;

DROP FUNCTION ledger.reverse_entry(bigint, text, text, text);

COMMIT;
