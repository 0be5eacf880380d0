-- Revert dualbook:function_sequence_deferred from pg

BEGIN;

DROP FUNCTION ledger.sequence_deferred(integer);
DELETE FROM ledger_private.error_catalog WHERE sqlstate = 'LD303';

COMMIT;
