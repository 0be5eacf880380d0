-- Revert dualbook:trigger_append_only from pg

BEGIN;

DROP TRIGGER book_immutable_columns ON ledger_private.book;
DROP TRIGGER book_no_delete ON ledger_private.book;
DROP TRIGGER currency_immutable_columns ON ledger_private.currency;
DROP TRIGGER currency_no_delete ON ledger_private.currency;
DROP TRIGGER account_immutable_columns ON ledger_private.account;
DROP TRIGGER account_no_delete ON ledger_private.account;
DROP TRIGGER posting_append_only ON ledger_private.posting;
DROP TRIGGER entry_append_only ON ledger_private.entry;
DROP FUNCTION ledger_private.forbid_change();

COMMIT;
