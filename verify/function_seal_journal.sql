-- Verify dualbook:function_seal_journal on pg

BEGIN;

SELECT 'ledger.seal_journal(integer, integer)'::regprocedure;
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM ledger.error_codes WHERE sqlstate IN ('LD304', 'LD305')) = 2, 'LD304/LD305 missing';
    ASSERT NOT has_function_privilege('public', 'ledger.seal_journal(integer, integer)', 'EXECUTE'),
           'PUBLIC must not execute the sealer';
    ASSERT position('worker_lock' IN pg_get_functiondef('ledger.seal_journal(integer, integer)'::regprocedure)) > 0
           AND position('pg_try_advisory' IN pg_get_functiondef('ledger.seal_journal(integer, integer)'::regprocedure)) = 0,
           'the sealer locks its worker_lock row, not an advisory key';
    ASSERT EXISTS (SELECT 1 FROM pg_proc AS p CROSS JOIN unnest(p.proconfig) AS c(setting)
                    WHERE p.oid = 'ledger.seal_journal(integer, integer)'::regprocedure AND c.setting = 'lock_timeout=5s'),
           'lock_timeout is pinned in the definition';
END
$$;

ROLLBACK;
