-- Verify dualbook:function_reverse_entry on pg

BEGIN;

SELECT 'ledger.reverse_entry(bigint, text, text, text)'::regprocedure;

ROLLBACK;
