-- Revert dualbook:hold_requests from pg

BEGIN;

SET LOCAL ROLE dualbook_owner;

DROP FUNCTION ledger.hold_requests(jsonb, text);

COMMIT;
