-- Revert dualbook:table_currency_code_instruments from pg: back to 2-16 of A-Z, 0-9 and _ starting with a letter.

BEGIN;

SET LOCAL ROLE dualbook_owner;

DO $$
DECLARE
    v_codes text;
BEGIN
    SELECT string_agg(c.code, ', ' ORDER BY c.code) INTO v_codes
      FROM ledger_private.currency AS c WHERE c.code !~ '^[A-Z][A-Z0-9_]{1,15}$';
    IF v_codes IS NOT NULL THEN
        RAISE EXCEPTION 'currencies with codes the previous rule refuses exist (%): refusing to revert', v_codes;
    END IF;
END
$$;

ALTER TABLE ledger_private.currency
    DROP CONSTRAINT currency_code_check,
    ADD CONSTRAINT currency_code_check CHECK (code ~ '^[A-Z][A-Z0-9_]{1,15}$');

COMMIT;
