-- Verify dualbook:holds on pg

BEGIN;

SELECT held_debit, held_credit, held_until FROM ledger_private.account WHERE false;
SELECT hold_id FROM ledger_private.hold WHERE false;
SELECT hold_id FROM ledger_private.hold_leg WHERE false;
SELECT hold_id FROM ledger_private.hold_resolution WHERE false;
DO $$
BEGIN
    ASSERT has_function_privilege('dualbook_app',
        'ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text)', 'execute'),
        'the app cannot execute ledger.hold_entry';
    ASSERT has_function_privilege('dualbook_app', 'ledger.capture_hold(bigint, text, bigint, text)', 'execute'),
        'the app cannot execute ledger.capture_hold';
    ASSERT has_function_privilege('dualbook_app', 'ledger.void_hold(bigint, text, text)', 'execute'),
        'the app cannot execute ledger.void_hold';
END
$$;

ROLLBACK;
