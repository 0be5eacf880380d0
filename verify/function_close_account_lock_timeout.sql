-- Verify dualbook:function_close_account_lock_timeout on pg

BEGIN;

DO $$
BEGIN
    ASSERT EXISTS (SELECT 1 FROM pg_proc AS p CROSS JOIN unnest(p.proconfig) AS c(setting)
                    WHERE p.oid = 'ledger.close_account(text, text)'::regprocedure AND c.setting = 'lock_timeout=2s'),
        'close_account pins lock_timeout';
END
$$;

ROLLBACK;
