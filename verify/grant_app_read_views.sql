-- Verify dualbook:grant_app_read_views on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_table_privilege('dualbook_app', 'ledger.currencies', 'SELECT'), 'the app reads ledger.currencies';
    ASSERT has_table_privilege('dualbook_app', 'ledger.accounts', 'SELECT'), 'the app reads ledger.accounts';
    ASSERT has_table_privilege('dualbook_app', 'ledger.trial_balance', 'SELECT'), 'the app reads ledger.trial_balance';
    ASSERT NOT has_table_privilege('dualbook_app', 'ledger.postings', 'SELECT'), 'the journal views stay the reader''s';
    ASSERT has_function_privilege('dualbook_app', 'ledger_private.normal_balance(text, bigint)', 'EXECUTE'),
        'the accounts view''s helper';
END
$$;

ROLLBACK;
