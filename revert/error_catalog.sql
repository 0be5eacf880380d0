-- Revert dualbook:error_catalog from pg
-- Nothing to undo: the upsert wrote the rows the earlier changes had inserted, with the same values, and the
-- reverts of those changes delete their own rows.

BEGIN;

SELECT 1;

COMMIT;
