-- Revert dualbook:table_account_code_unicode from pg: account codes of ASCII letters again.

BEGIN;

SET LOCAL ROLE dualbook_owner;

-- The previous check would refuse any later change of such an account (closing it, for one).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_private.account AS a WHERE a.code !~ '^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$') THEN
        RAISE EXCEPTION 'accounts with codes beyond ASCII exist: refusing to revert';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION ledger_private.account_check_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_constraint text;
BEGIN
    -- A CHECK passes when its expression is true or NULL: NOT coalesce(expr, true) is a violation.
    v_constraint := CASE
        WHEN NOT coalesce(NEW.code ~ '^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$', true) THEN 'account_code_check'
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
