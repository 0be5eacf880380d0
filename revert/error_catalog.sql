-- Revert dualbook:error_catalog from pg
-- Nothing to undo: the upsert wrote the rows the earlier changes had inserted, with the same values, and the
-- reverts of those changes delete their own rows. The rows this change added are deleted.

BEGIN;

DELETE FROM ledger_private.error_catalog WHERE sqlstate IN ('LD111', 'LD120', 'LD121', 'LD122', 'LD220', 'LD221',
                                                         'LD222', 'LD223', 'LD224', 'LD225', 'LD226',
                                                         'LD230', 'LD231', 'LD232');

COMMIT;
