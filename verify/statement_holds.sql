-- Verify dualbook:statement_holds on pg

BEGIN;

DO $$
DECLARE
    v_p pg_proc;
BEGIN
    SELECT * INTO v_p FROM pg_proc WHERE oid = 'ledger.statement(text, date, date, text, integer, text)'::regprocedure;
    ASSERT v_p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp', 'standard_conforming_strings=on'],
        'statement pins its settings';
    ASSERT v_p.proargnames @> ARRAY['holds', 'pending_debit', 'pending_credit'], 'statement returns the holds';
    ASSERT has_function_privilege('dualbook_app', 'ledger.statement(text, date, date, text, integer, text)', 'execute'),
        'the app can execute ledger.statement';
    ASSERT has_function_privilege('dualbook_reader', 'ledger.statement(text, date, date, text, integer, text)',
                                  'execute'),
        'the reader can execute ledger.statement';
END
$$;

ROLLBACK;
