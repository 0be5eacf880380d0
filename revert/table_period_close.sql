-- Revert dualbook:table_period_close from pg

BEGIN;

ALTER TABLE ledger_private.book DROP COLUMN closed_through;
DROP INDEX ledger_private.entry_effective;
DROP TABLE ledger_private.account_checkpoint;
DROP TABLE ledger_private.period_close;

COMMIT;
