-- Revert dualbook:schema_ledger from pg

BEGIN;

DROP SCHEMA ledger_private;
DROP SCHEMA ledger;

COMMIT;
