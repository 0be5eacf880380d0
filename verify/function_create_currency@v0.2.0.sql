-- Verify dualbook:function_create_currency on pg

BEGIN;

SELECT 'ledger.create_currency(text, integer, text)'::regprocedure;

ROLLBACK;
