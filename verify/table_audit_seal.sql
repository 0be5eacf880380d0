-- Verify dualbook:table_audit_seal on pg

BEGIN;

SELECT book_id, seal_no, from_entry_id, to_entry_id, entry_count, merkle_root, prev_hash, sealed_at, seal_hash
  FROM ledger_private.seal WHERE FALSE;
SELECT book_id, entry_id, seal_no, entry_hash, leg_hashes FROM ledger_private.sealed_entry WHERE FALSE;
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_trigger
             WHERE tgname IN ('seal_append_only', 'sealed_entry_append_only') AND NOT tgisinternal) = 2,
           'the append-only triggers of the seal tables are missing';
END
$$;

ROLLBACK;
