-- Revert dualbook:table_currency from pg

BEGIN;

DROP TABLE ledger_private.currency;

COMMIT;
