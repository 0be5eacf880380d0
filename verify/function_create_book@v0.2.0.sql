-- Verify dualbook:function_create_book on pg

BEGIN;

SELECT 'ledger.create_book(text, text)'::regprocedure;

ROLLBACK;
