-- Verify dualbook:table_currency_code_instruments on pg

BEGIN;

DO $$
DECLARE
    v_def text := (SELECT pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint AS c
                    WHERE c.conrelid = 'ledger_private.currency'::regclass AND c.conname = 'currency_code_check');
BEGIN
    ASSERT v_def LIKE '%[A-Z0-9._-]{0,15}%', 'currency_code_check takes instrument codes: ' || coalesce(v_def, 'none');
END
$$;

ROLLBACK;
