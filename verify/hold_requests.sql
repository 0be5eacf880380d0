-- Verify dualbook:hold_requests on pg

BEGIN;

DO $$
DECLARE
    v_p pg_proc;
BEGIN
    SELECT * INTO v_p FROM pg_proc WHERE oid = 'ledger.hold_requests(jsonb, text)'::regprocedure;
    ASSERT v_p.proconfig @> ARRAY['lock_timeout=2s', 'standard_conforming_strings=on'],
        'hold_requests pins its settings';
    ASSERT has_function_privilege('dualbook_app', 'ledger.hold_requests(jsonb, text)', 'execute'),
        'the app can execute ledger.hold_requests';
    ASSERT (SELECT count(*) FROM ledger_private.error_catalog WHERE sqlstate IN ('LD230', 'LD231', 'LD232')) = 3,
        'the catalog has LD230-LD232';
END
$$;

ROLLBACK;
