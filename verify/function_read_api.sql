-- Verify dualbook:function_read_api on pg

BEGIN;

SELECT 'ledger.get_balance(text, text)'::regprocedure,
       'ledger.get_entry(bigint, text)'::regprocedure,
       'ledger.get_entry_by_key(text, text)'::regprocedure,
       'ledger_private.entry_document(integer, bigint)'::regprocedure;
DO $$
BEGIN
    ASSERT position('add_checked' IN pg_get_functiondef('ledger.get_balance(text, text)'::regprocedure)) > 0,
        'get_balance range-checks a deferred account''s balance';
END
$$;

ROLLBACK;
