-- Revert dualbook:table_period_close from pg

BEGIN;

DROP INDEX ledger_private.entry_effective;
DROP TABLE ledger_private.account_checkpoint;
DROP TABLE ledger_private.period_close;

COMMIT;
