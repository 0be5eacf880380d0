-- Revert dualbook:table_account_fillfactor from pg

BEGIN;

ALTER TABLE ledger_private.account SET (fillfactor = 50);

COMMIT;
