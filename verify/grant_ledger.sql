-- Verify dualbook:grant_ledger on pg

BEGIN;

DO $$
BEGIN
    ASSERT has_function_privilege('dualbook_app', 'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)',
                                  'EXECUTE'), 'the app can post';
    ASSERT NOT has_function_privilege('dualbook_app', 'ledger.sequence_deferred(integer)', 'EXECUTE'),
        'the app cannot run the sequencer';
    ASSERT has_function_privilege('dualbook_sequencer', 'ledger.sequence_deferred(integer)', 'EXECUTE'),
        'the sequencer can';
    ASSERT has_table_privilege('dualbook_reader', 'ledger.accounts', 'SELECT'), 'the reader reads the views';
    ASSERT has_table_privilege('dualbook_auditor', 'ledger.postings', 'SELECT'), 'the auditor reads the journal';
    ASSERT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c
                        WHERE c.relnamespace = 'ledger_private'::regnamespace
                          AND has_table_privilege('dualbook_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')),
        'the app has no privilege on any table';
END
$$;

ROLLBACK;
