-- Deploy dualbook:trigger_append_only to pg
-- requires: table_entry
-- requires: table_posting
-- requires: table_account
-- requires: table_currency
-- requires: table_error_catalog
-- History is append-only: entries and postings are never updated, deleted or truncated (a correction is a
-- reversal entry). Accounts, books and currencies are never deleted and their identifying columns never
-- change. Statement-level triggers refuse the attempt even when it would touch no row. Superusers can still
-- disable triggers: ledger.books_check() catches edits that break an invariant; tamper evidence for edits that
-- keep the books balanced (a hash-sealed journal) is a later change.

BEGIN;

CREATE FUNCTION ledger_private.forbid_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% on %.% is not allowed: %', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME,
        coalesce(TG_ARGV[0], 'history is append-only')
        USING ERRCODE = 'LD302',
              SCHEMA = TG_TABLE_SCHEMA,
              TABLE = TG_TABLE_NAME,
              DETAIL = json_build_object('operation', TG_OP, 'table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME)::text,
              HINT = 'Correct a posted entry with ledger.reverse_entry(); balances change only through ledger.post_entry().';
END
$$;
COMMENT ON FUNCTION ledger_private.forbid_change() IS
    'Trigger: refuses the operation with SQLSTATE LD302 (append_only_violation). TG_ARGV[0] is the reason.';

CREATE TRIGGER entry_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('journal entries are append-only');
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('postings are append-only');

CREATE TRIGGER account_no_delete BEFORE DELETE OR TRUNCATE ON ledger_private.account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('accounts are never deleted (close them)');
CREATE TRIGGER account_immutable_columns BEFORE UPDATE ON ledger_private.account
    FOR EACH ROW
    WHEN ((OLD.book_id, OLD.account_id, OLD.code, OLD.currency, OLD.type, OLD.created_at)
          IS DISTINCT FROM (NEW.book_id, NEW.account_id, NEW.code, NEW.currency, NEW.type, NEW.created_at))
    EXECUTE FUNCTION ledger_private.forbid_change('an account''s book, id, code, currency, type and creation time never change');

CREATE TRIGGER currency_no_delete BEFORE DELETE OR TRUNCATE ON ledger_private.currency
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('currencies are never deleted');
CREATE TRIGGER currency_immutable_columns BEFORE UPDATE ON ledger_private.currency
    FOR EACH ROW WHEN ((OLD.code, OLD.exponent) IS DISTINCT FROM (NEW.code, NEW.exponent))
    EXECUTE FUNCTION ledger_private.forbid_change('a currency''s code and exponent never change');

CREATE TRIGGER book_no_delete BEFORE DELETE OR TRUNCATE ON ledger_private.book
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('books are never deleted');
CREATE TRIGGER book_immutable_columns BEFORE UPDATE ON ledger_private.book
    FOR EACH ROW WHEN ((OLD.book_id, OLD.code) IS DISTINCT FROM (NEW.book_id, NEW.code))
    EXECUTE FUNCTION ledger_private.forbid_change('a book''s id and code never change');

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger_private.forbid_change() FROM PUBLIC;

COMMIT;
