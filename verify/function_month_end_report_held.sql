-- Verify dualbook:function_month_end_report_held on pg

BEGIN;

DO $$
DECLARE
    v_p pg_proc;
BEGIN
    SELECT * INTO v_p FROM pg_proc WHERE oid = 'ledger.month_end_report(date, date, text)'::regprocedure;
    ASSERT v_p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp', 'standard_conforming_strings=on'],
        'month_end_report pins its settings';
    ASSERT v_p.prosecdef, 'month_end_report is SECURITY DEFINER';
    ASSERT obj_description(v_p.oid, 'pg_proc') LIKE '%or holds outstanding at the period''s end%',
        'month_end_report lists the accounts with holds outstanding at the period''s end';
    ASSERT has_function_privilege('dualbook_app', 'ledger.month_end_report(date, date, text)', 'execute'),
        'the app can execute ledger.month_end_report';
    ASSERT has_function_privilege('dualbook_reader', 'ledger.month_end_report(date, date, text)', 'execute'),
        'the reader can execute ledger.month_end_report';
END
$$;

ROLLBACK;
