-- Revert dualbook:table_error_catalog from pg

BEGIN;

DROP VIEW ledger.error_codes;
DROP TABLE ledger_private.error_catalog;

COMMIT;
