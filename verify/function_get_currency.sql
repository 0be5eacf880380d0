-- Verify dualbook:function_get_currency on pg

BEGIN;

SELECT 'ledger.get_currency(text)'::regprocedure;
DO $$
BEGIN
    ASSERT (SELECT proowner = 'dualbook_owner'::regrole AND prosecdef FROM pg_catalog.pg_proc
             WHERE oid = 'ledger.get_currency(text)'::regprocedure), 'owned by dualbook_owner, SECURITY DEFINER';
    ASSERT NOT has_function_privilege('public', 'ledger.get_currency(text)', 'EXECUTE'), 'PUBLIC cannot run it';
END
$$;

ROLLBACK;
