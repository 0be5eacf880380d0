-- Verify dualbook:function_close_account_holds on pg

BEGIN;

DO $$
DECLARE
    v_p pg_proc;
BEGIN
    SELECT * INTO v_p FROM pg_proc WHERE oid = 'ledger.close_account(text, text)'::regprocedure;
    ASSERT v_p.prosrc LIKE '%LD226%', 'close_account refuses an account with outstanding holds';
    ASSERT v_p.proconfig @> ARRAY['lock_timeout=2s', 'standard_conforming_strings=on'],
        'close_account keeps its pinned settings';
    ASSERT has_function_privilege('dualbook_app', 'ledger.close_account(text, text)', 'execute'),
        'the app can execute ledger.close_account';
END
$$;

ROLLBACK;
