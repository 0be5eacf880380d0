-- Verify dualbook:role_connection_limit on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                        WHERE rolname IN ('dualbook_app', 'dualbook_sequencer', 'dualbook_reader',
                                          'dualbook_auditor', 'dualbook_migrator')
                          AND rolconnlimit = -1),
        'every login role of the ledger has a connection limit';
END
$$;

ROLLBACK;
