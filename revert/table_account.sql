-- Revert dualbook:table_account from pg

BEGIN;

DROP TABLE ledger_private.account;

COMMIT;
