-- Verify dualbook:function_create_account on pg

BEGIN;

SELECT 'ledger.create_account(text, text, text, bigint, bigint, jsonb, text, boolean)'::regprocedure,
       'ledger.close_account(text, text)'::regprocedure;

ROLLBACK;
