-- Deploy dualbook:function_create_currency to pg
-- requires: function_create_currency@v0.2.0
-- requires: table_currency_code_instruments
-- Reworked: codes as instruments spell them (table_currency_code_instruments): 1-16 characters of A-Z, 0-9,
-- '.', '-' and '_', starting with a letter or a digit, with at least one letter.
-- Values an error repeats from the caller go through ledger_private.echo() (at most 256 characters and a marker):
-- created by the later change function_helpers; PL/pgSQL binds it when an error is raised.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.create_currency(
    p_code text,
    p_exponent integer,
    p_name text DEFAULT NULL,
    OUT code text,
    OUT created boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_existing smallint;
    v_existing_name text;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.create_currency');
    IF p_code IS NULL OR p_code !~ '^[A-Z0-9][A-Z0-9._-]{0,15}$' OR p_code !~ '[A-Z]' THEN
        RAISE EXCEPTION 'invalid currency code %', coalesce(quote_literal(ledger_private.echo(p_code)), 'NULL')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'code', 'value', ledger_private.echo(p_code))::text,
                  HINT = 'A currency or asset code is 1-16 characters of A-Z, 0-9, ".", "-" and "_", starting with '
                         'a letter or a digit and holding a letter: USD, X, BRK.B, VWCE-DE.';
    END IF;
    IF p_exponent IS NULL OR p_exponent NOT BETWEEN 0 AND 18 THEN
        RAISE EXCEPTION 'exponent must be between 0 and 18, not %', coalesce(p_exponent::text, 'NULL')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'exponent', 'value', p_exponent)::text;
    END IF;
    IF p_name IS NOT NULL AND length(p_name) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'currency name must be 1-200 characters'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'name')::text;
    END IF;
    INSERT INTO ledger_private.currency AS c (code, exponent, name)
        VALUES (p_code, p_exponent, coalesce(p_name, p_code))
        ON CONFLICT ON CONSTRAINT currency_pkey DO NOTHING
        RETURNING c.code INTO create_currency.code;
    IF create_currency.code IS NOT NULL THEN
        created := true;
        RETURN;
    END IF;
    SELECT c.exponent, c.name INTO v_existing, v_existing_name FROM ledger_private.currency AS c WHERE c.code = p_code;
    IF v_existing <> p_exponent OR v_existing_name <> coalesce(p_name, v_existing_name) THEN
        RAISE EXCEPTION 'currency % exists with exponent % and name %', p_code, v_existing, quote_literal(v_existing_name)
            USING ERRCODE = 'LD212',
                  DETAIL = json_build_object('currency', p_code, 'exponent', v_existing, 'name', v_existing_name)::text,
                  HINT = 'An exponent never changes: create an asset with another code.';
    END IF;
    create_currency.code := p_code;
    created := false;
END
$$;
COMMENT ON FUNCTION ledger.create_currency(text, integer, text) IS
    'Add a currency or custom asset (e.g. loyalty points, exponent 0). Idempotent for the same code, exponent and '
    'name (a NULL name matches any). '
    'Errors: LD101 invalid_argument, LD212 currency_exists, LD301 not_serializable.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger.create_currency(text, integer, text) FROM PUBLIC;

COMMIT;
