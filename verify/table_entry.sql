-- Verify dualbook:table_entry on pg

BEGIN;

SELECT book_id, entry_id, idempotency_key, request_hash, description, metadata, effective_date, recorded_at,
       reverses_entry_id
  FROM ledger_private.entry WHERE FALSE;

ROLLBACK;
