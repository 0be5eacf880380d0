-- Verify dualbook:owner_ledger on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace
                        WHERE nspname IN ('ledger', 'ledger_private') AND nspowner <> 'dualbook_owner'::regrole),
        'both schemas are owned by dualbook_owner';
    ASSERT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class
                        WHERE relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
                          AND relowner <> 'dualbook_owner'::regrole),
        'every relation of the ledger is owned by dualbook_owner';
    ASSERT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc
                        WHERE pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
                          AND proowner <> 'dualbook_owner'::regrole),
        'every function of the ledger is owned by dualbook_owner';
    ASSERT EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl
                    WHERE defaclrole = 'dualbook_owner'::regrole AND defaclnamespace = 0 AND defaclobjtype = 'f'),
        'dualbook_owner''s new functions are not executable by PUBLIC';
END
$$;

ROLLBACK;
