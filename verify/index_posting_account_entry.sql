-- Verify dualbook:index_posting_account_entry on pg

BEGIN;

SELECT 'ledger_private.posting_account_entry'::regclass;

ROLLBACK;
