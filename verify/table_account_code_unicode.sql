-- Verify dualbook:table_account_code_unicode on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_get_functiondef('ledger_private.account_check_row()'::regprocedure) LIKE '%NFC NORMALIZED%',
        'account_check_row() checks Unicode codes in NFC';
    ASSERT ('Café' COLLATE "und-x-icu") ~ '^[[:alpha:]]+$', 'the ICU root collation classifies letters';
END
$$;

ROLLBACK;
