-- Verify dualbook:function_reverse_entry_dated on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('dualbook_app', 'ledger.reverse_entry(bigint, text, text, text, date)', 'execute');
END
$$;

ROLLBACK;
