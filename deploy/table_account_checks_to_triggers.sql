-- Deploy dualbook:table_account_checks_to_triggers to pg
-- requires: table_account
-- requires: table_account_deferred
-- requires: trigger_append_only
-- Every posting updates the balance and seq of the accounts it touches. PostgreSQL evaluates every CHECK
-- constraint of a table on every UPDATE, whatever columns it sets, and rebuilds each CHECK expression from its
-- stored node tree once per statement; the code pattern alone (a regex with a {0,199} repetition) cost ~10 us
-- per UPDATE. And any BEFORE ... FOR EACH ROW UPDATE trigger makes PostgreSQL lock (and WAL-log the lock of)
-- the old row before the update and rebuild the trigger's WHEN clause per statement: ~15-20 us per UPDATE for
-- account_immutable_columns, although a balance update never touches the columns it guards.
-- (docs/performance.md, "Optimising post_entry".)
--
-- So, without giving up any guard:
--   * The attribute CHECKs (code pattern, type, status, metadata an object, lower <= upper, closed_at set
--     exactly when closed, no limits on a deferred account) become one trigger function with the same
--     predicates, the same SQLSTATE (23514 check_violation) and the same constraint names, fired BEFORE INSERT
--     and AFTER UPDATE OF the columns they read. An AFTER row trigger with a column list costs a balance
--     update nothing: the account's foreign-key triggers already make PostgreSQL fetch the old row for AFTER
--     UPDATE triggers, and a trigger whose columns are not SET is skipped before anything else. (An AFTER
--     UPDATE trigger sees the row after the update and rejects the statement; the outcome is the same.)
--   * balance > -2^63 and seq >= 0 stay CHECK constraints: they constrain the columns every posting writes,
--     and cost ~1.4 us each per statement.
--   * account_immutable_columns becomes BEFORE UPDATE OF book_id, account_id, code, currency, type,
--     created_at FOR EACH STATEMENT: any UPDATE that sets one of these columns is refused (LD302), even one that
--     would write the same value or match no row -- stricter than the row-level comparison it replaces, and
--     free for a statement that does not set them. What it does not see, like the row-level trigger before
--     it, is a change made by another BEFORE row trigger; there is none on account.

BEGIN;

CREATE FUNCTION ledger_private.account_check_row() RETURNS trigger
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
COMMENT ON FUNCTION ledger_private.account_check_row() IS
    'Trigger: the account''s attribute constraints (formerly CHECKs; same names, SQLSTATE 23514), on INSERT and '
    'on UPDATE of the columns they read.';
REVOKE ALL ON FUNCTION ledger_private.account_check_row() FROM PUBLIC;

ALTER TABLE ledger_private.account
    DROP CONSTRAINT account_code_check,
    DROP CONSTRAINT account_type_check,
    DROP CONSTRAINT account_status_check,
    DROP CONSTRAINT account_metadata_check,
    DROP CONSTRAINT account_check,
    DROP CONSTRAINT account_check1,
    DROP CONSTRAINT account_deferred_has_no_limits;

CREATE TRIGGER account_checks_on_insert BEFORE INSERT ON ledger_private.account
    FOR EACH ROW EXECUTE FUNCTION ledger_private.account_check_row();
CREATE TRIGGER account_checks_on_update
    AFTER UPDATE OF code, type, status, metadata, lower_limit, upper_limit, closed_at, deferred
    ON ledger_private.account
    FOR EACH ROW EXECUTE FUNCTION ledger_private.account_check_row();

DROP TRIGGER account_immutable_columns ON ledger_private.account;
CREATE TRIGGER account_immutable_columns
    BEFORE UPDATE OF book_id, account_id, code, currency, type, created_at ON ledger_private.account
    FOR EACH STATEMENT
    EXECUTE FUNCTION ledger_private.forbid_change('an account''s book, id, code, currency, type and creation time never change');

COMMIT;
