-- Revert dualbook:table_entry from pg

BEGIN;

DROP TABLE ledger_private.entry;

COMMIT;
