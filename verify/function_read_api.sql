-- Verify dualbook:function_read_api on pg

BEGIN;

SELECT 'ledger.get_balance(text, text)'::regprocedure,
       'ledger.get_entry(bigint, text)'::regprocedure,
       'ledger.get_entry_by_key(text, text)'::regprocedure,
       'ledger_private.entry_document(integer, bigint)'::regprocedure;

ROLLBACK;
