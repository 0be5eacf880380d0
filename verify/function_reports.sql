-- Verify dualbook:function_reports on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('dualbook_reader', 'ledger.balance_as_of(text, date, text)', 'execute');
    ASSERT has_function_privilege('dualbook_reader', 'ledger.balance_as_recorded(text, bigint, timestamptz, text)',
                                  'execute');
    ASSERT has_function_privilege('dualbook_reader', 'ledger.statement(text, date, date, text, integer, text)',
                                  'execute');
    ASSERT has_function_privilege('dualbook_app', 'ledger.trial_balance_as_of(date, text)', 'execute');
    ASSERT has_function_privilege('dualbook_app', 'ledger.month_end_report(date, date, text)', 'execute');
END
$$;

ROLLBACK;
