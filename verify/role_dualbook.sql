-- Verify dualbook:role_dualbook on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_catalog.pg_roles
             WHERE rolname IN ('dualbook_owner', 'dualbook_migrator', 'dualbook_app', 'dualbook_sequencer',
                               'dualbook_reader', 'dualbook_auditor')
               AND NOT rolsuper AND NOT rolbypassrls) = 6, 'the six dualbook roles exist, none superuser';
    ASSERT NOT (SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = 'dualbook_owner'),
        'dualbook_owner cannot log in';
    ASSERT pg_catalog.pg_has_role('dualbook_migrator', 'dualbook_owner', 'MEMBER'),
        'dualbook_migrator is a member of dualbook_owner';
    ASSERT NOT pg_catalog.pg_has_role('dualbook_app', 'dualbook_owner', 'MEMBER'),
        'dualbook_app is not a member of dualbook_owner';
    ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting AS s, unnest(s.setconfig) AS c
                    WHERE s.setdatabase = 0 AND s.setrole = 'dualbook_app'::regrole AND c LIKE 'lock_timeout=%'),
        'dualbook_app has a lock_timeout';
END
$$;

ROLLBACK;
