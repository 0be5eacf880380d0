-- Revert dualbook:table_posting from pg

BEGIN;

DROP TABLE ledger_private.posting;

COMMIT;
