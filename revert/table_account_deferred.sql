-- Revert dualbook:table_account_deferred from pg

BEGIN;

ALTER TABLE ledger_private.account DROP COLUMN deferred;

COMMIT;
