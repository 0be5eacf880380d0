-- Verify dualbook:function_reverse_entry on pg

BEGIN;

SELECT 'ledger.reverse_entry(bigint, text, text, text)'::regprocedure;
DO $$
BEGIN
    ASSERT EXISTS (SELECT FROM pg_proc WHERE oid = 'ledger.reverse_entry(bigint, text, text, text)'::regprocedure
                                  AND 'status' = ANY (proargnames)),
        'ledger.reverse_entry has no status column';
END
$$;

ROLLBACK;
