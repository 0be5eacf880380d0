-- Revert dualbook:error_code_batch_fallback from pg

BEGIN;

DELETE FROM ledger_private.error_catalog WHERE sqlstate = 'LD306';

COMMIT;
