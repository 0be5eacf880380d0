-- Verify dualbook:grant_auditor_export on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_table_privilege('dualbook_auditor', 'ledger.books', 'SELECT'), 'the auditor reads ledger.books';
    ASSERT has_table_privilege('dualbook_auditor', 'ledger.currencies', 'SELECT'),
        'the auditor reads ledger.currencies';
    ASSERT has_table_privilege('dualbook_auditor', 'ledger.accounts', 'SELECT'), 'the auditor reads ledger.accounts';
    ASSERT NOT has_table_privilege('dualbook_auditor', 'ledger.trial_balance', 'SELECT'),
        'the auditor needs no report view';
END
$$;

ROLLBACK;
