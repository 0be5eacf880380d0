-- Deploy dualbook:function_get_currency to pg
-- requires: owner_ledger
-- requires: table_currency
-- The one piece of reference data an application needs to turn minor units into major units: a currency's
-- exponent. A function, so that dualbook_app keeps holding EXECUTE privileges only (the views are for the
-- reader and auditor roles).

BEGIN;

-- Created by the owner: correct owner, and its default privileges keep PUBLIC out (docs/security.md).
SET LOCAL ROLE dualbook_owner;

CREATE FUNCTION ledger.get_currency(
    p_code text,
    OUT code text,
    OUT exponent smallint,
    OUT name text,
    OUT iso4217 boolean
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT c.code, c.exponent, c.name, c.iso4217
      INTO get_currency.code, get_currency.exponent, get_currency.name, get_currency.iso4217
      FROM ledger_private.currency AS c
     WHERE c.code = p_code;
    IF get_currency.code IS NULL THEN
        RAISE EXCEPTION 'unknown currency %', coalesce(quote_literal(left(p_code, 16)), 'NULL')
            USING ERRCODE = 'LD108', DETAIL = json_build_object('currency', left(p_code, 16))::text,
                  HINT = 'See ledger.currencies; add custom assets with ledger.create_currency().';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_currency(text) IS
    'A currency or asset: its code, minor-unit exponent, name and whether it is a seeded ISO 4217 code. '
    'Errors: LD108 unknown_currency (also for NULL).';

REVOKE ALL ON FUNCTION ledger.get_currency(text) FROM PUBLIC;

COMMIT;
