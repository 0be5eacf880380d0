-- Verify dualbook:view_audit_export on pg

BEGIN;

SELECT book_id, entry_id, idempotency_key, request_hash, description, metadata, effective_date, recorded_at,
       reverses_entry_id
  FROM ledger.audit_entries WHERE FALSE;
SELECT book_id, entry_id, leg, account_id, account_code, amount, currency, account_seq, balance_after,
       sequenced_account_seq, sequenced_balance_after
  FROM ledger.audit_postings WHERE FALSE;
SELECT book_id, book_code, seal_no, from_entry_id, to_entry_id, entry_count, merkle_root, prev_hash, sealed_at,
       seal_hash
  FROM ledger.audit_seals WHERE FALSE;
SELECT book_id, entry_id, seal_no, entry_hash, leg_hashes FROM ledger.audit_sealed_entries WHERE FALSE;

ROLLBACK;
