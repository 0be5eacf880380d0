-- Revert dualbook:table_refusal from pg

BEGIN;

DROP TABLE ledger_private.refusal;

COMMIT;
