-- Revert dualbook:function_read_api from pg

BEGIN;

DROP FUNCTION ledger.get_entry_by_key(text, text);
DROP FUNCTION ledger.get_entry(bigint, text);
DROP FUNCTION ledger_private.entry_document(integer, bigint);
DROP FUNCTION ledger.get_balance(text, text);

COMMIT;
