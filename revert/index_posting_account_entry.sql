-- Revert dualbook:index_posting_account_entry from pg

BEGIN;

DROP INDEX ledger_private.posting_account_entry;

COMMIT;
