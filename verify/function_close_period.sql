-- Verify dualbook:function_close_period on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('dualbook_app', 'ledger.close_period(date, text)', 'execute');
    ASSERT has_function_privilege('dualbook_reader', 'ledger.closed_through(text)', 'execute');
    ASSERT NOT has_function_privilege('dualbook_reader', 'ledger.close_period(date, text)', 'execute');
END
$$;

ROLLBACK;
