-- Revert dualbook:table_account_checks_to_triggers from pg: the CHECK constraints of table_account and
-- table_account_deferred, and the row-level immutable-columns trigger of trigger_append_only, as they were.

BEGIN;

DROP TRIGGER account_immutable_columns ON ledger_private.account;
CREATE TRIGGER account_immutable_columns BEFORE UPDATE ON ledger_private.account
    FOR EACH ROW
    WHEN ((OLD.book_id, OLD.account_id, OLD.code, OLD.currency, OLD.type, OLD.created_at)
          IS DISTINCT FROM (NEW.book_id, NEW.account_id, NEW.code, NEW.currency, NEW.type, NEW.created_at))
    EXECUTE FUNCTION ledger_private.forbid_change('an account''s book, id, code, currency, type and creation time never change');

DROP TRIGGER account_checks_on_update ON ledger_private.account;
DROP TRIGGER account_checks_on_insert ON ledger_private.account;

ALTER TABLE ledger_private.account
    ADD CONSTRAINT account_code_check CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.:@/+-]{0,199}$'),
    ADD CONSTRAINT account_type_check CHECK (type IN ('asset', 'liability', 'equity', 'income', 'expense')),
    ADD CONSTRAINT account_status_check CHECK (status IN ('open', 'closed')),
    ADD CONSTRAINT account_metadata_check CHECK (jsonb_typeof(metadata) = 'object'),
    ADD CONSTRAINT account_check CHECK (lower_limit IS NULL OR upper_limit IS NULL OR lower_limit <= upper_limit),
    ADD CONSTRAINT account_check1 CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    ADD CONSTRAINT account_deferred_has_no_limits
        CHECK (NOT deferred OR (lower_limit IS NULL AND upper_limit IS NULL));

DROP FUNCTION ledger_private.account_check_row();

COMMIT;
