-- Verify dualbook:function_audit_hash on pg

BEGIN;

SELECT book_id, entry_id, leg, account_id, account_code, amount, currency, account_seq, balance_after, leg_hash
  FROM ledger_private.audit_leg_digest WHERE FALSE;
SELECT book_id, entry_id, legs, leg_hashes, entry_hash FROM ledger_private.audit_entry_digest WHERE FALSE;
DO $$
BEGIN
    ASSERT ledger_private.audit_field(NULL) = '\x2d'::bytea, 'NULL is encoded as ''-''';
    ASSERT ledger_private.audit_field('é') = convert_to('2:é', 'UTF8'), 'a field is its UTF-8 byte length, '':'', its bytes';
    ASSERT ledger_private.audit_merkle_root(ARRAY[]::bytea[]) = sha256(''::bytea), 'the empty Merkle root';
    ASSERT ledger_private.audit_seal_hash(1, 'default', 1, 0, 1, 1, sha256(''::bytea), NULL, now()) IS NOT NULL,
           'a seal hash';
END
$$;

ROLLBACK;
