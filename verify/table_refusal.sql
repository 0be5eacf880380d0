-- Verify dualbook:table_refusal on pg

BEGIN;

SELECT book_id, idempotency_key, request_hash, sqlstate, message, detail, hint, recorded_at
  FROM ledger_private.refusal WHERE FALSE;

ROLLBACK;
