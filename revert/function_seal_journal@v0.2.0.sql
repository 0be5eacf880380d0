-- Revert dualbook:function_seal_journal from pg

BEGIN;

DROP FUNCTION ledger.seal_journal(integer, integer);
DELETE FROM ledger_private.error_catalog WHERE sqlstate IN ('LD304', 'LD305');
UPDATE ledger_private.error_catalog
   SET description = 'ledger.sequence_deferred() must run in READ COMMITTED, outside the SSI conflict tracking of postings.'
 WHERE sqlstate = 'LD303';

COMMIT;
