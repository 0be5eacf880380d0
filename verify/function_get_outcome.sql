-- Verify dualbook:function_get_outcome on pg

BEGIN;

SELECT has_function_privilege('dualbook_app', 'ledger.get_outcome(text, text)', 'execute');
DO $$
BEGIN
    ASSERT has_function_privilege('dualbook_reader', 'ledger.get_outcome(text, text)', 'execute'),
        'the reader cannot execute ledger.get_outcome';
END
$$;

ROLLBACK;
