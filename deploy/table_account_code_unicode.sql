-- Deploy dualbook:table_account_code_unicode to pg
-- requires: table_account_checks_to_triggers
-- Account codes may hold letters of any script (Assets:Café, Активы:Банк, 資産:現金), digits 0-9 and
-- _ . : @ / + -, start with a letter or a digit, and are 1-200 characters. "Letter" is Unicode's Alphabetic
-- property, read through the ICU root collation so that it does not depend on the database's locale (a C locale
-- would know ASCII letters only). A code is stored in Unicode normalisation form NFC: the same text typed in NFD
-- (e + combining acute) is one code, not two; the API normalises what it is given (create_account,
-- close_account, get_balance), this check refuses a code that is not NFC whatever wrote it.
-- The check lives in ledger_private.account_check_row() (table_account_checks_to_triggers); every other predicate
-- is unchanged. It runs on INSERT and on UPDATE of the attribute columns, never on a balance update.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger_private.account_check_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_constraint text;
BEGIN
    -- A CHECK passes when its expression is true or NULL: NOT coalesce(expr, true) is a violation.
    v_constraint := CASE
        WHEN NOT coalesce((NEW.code COLLATE "und-x-icu") ~ '^[[:alpha:]0-9][[:alpha:]0-9_.:@/+-]{0,199}$'
                          AND NEW.code IS NFC NORMALIZED, true) THEN 'account_code_check'
        WHEN NOT coalesce(NEW.type IN ('asset', 'liability', 'equity', 'income', 'expense'), true)
            THEN 'account_type_check'
        WHEN NOT coalesce(NEW.status IN ('open', 'closed'), true) THEN 'account_status_check'
        WHEN NOT coalesce(jsonb_typeof(NEW.metadata) = 'object', true) THEN 'account_metadata_check'
        WHEN NOT coalesce(NEW.lower_limit IS NULL OR NEW.upper_limit IS NULL OR NEW.lower_limit <= NEW.upper_limit,
                          true) THEN 'account_check'
        WHEN NOT coalesce((NEW.status = 'closed') = (NEW.closed_at IS NOT NULL), true) THEN 'account_check1'
        WHEN NOT coalesce(NOT NEW.deferred OR (NEW.lower_limit IS NULL AND NEW.upper_limit IS NULL), true)
            THEN 'account_deferred_has_no_limits'
    END;
    IF v_constraint IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "%" violates check constraint "%"', TG_TABLE_NAME, v_constraint
            USING ERRCODE = 'check_violation', SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME,
                  CONSTRAINT = v_constraint,
                  DETAIL = format('Failing row contains (book_id %s, code %s).', NEW.book_id, NEW.code);
    END IF;
    RETURN NEW;
END
$$;

COMMIT;
