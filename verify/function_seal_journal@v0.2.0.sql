-- Verify dualbook:function_seal_journal on pg

BEGIN;

SELECT 'ledger.seal_journal(integer, integer)'::regprocedure;
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM ledger.error_codes WHERE sqlstate IN ('LD304', 'LD305')) = 2, 'LD304/LD305 missing';
    ASSERT NOT has_function_privilege('public', 'ledger.seal_journal(integer, integer)', 'EXECUTE'),
           'PUBLIC must not execute the sealer';
END
$$;

ROLLBACK;
