-- Deploy dualbook:view_audit_export to pg
-- requires: function_audit_hash
-- requires: table_deferred_queue
-- The raw journal and the seals, every hashed field in the canonical text it is hashed as (docs/audit.md), so an
-- export (dualbook audit export) or an auditor's own query gets exactly the bytes the hashes cover. Views run
-- with their owner's rights: an auditor role needs SELECT on these views only (plus ledger.books, ledger.currencies
-- and ledger.accounts for the rest of an export).

BEGIN;

CREATE VIEW ledger.audit_entries AS
    SELECT e.book_id, e.entry_id, e.idempotency_key, encode(e.request_hash, 'hex') AS request_hash, e.description,
           e.metadata::text AS metadata, ledger_private.audit_date(e.effective_date) AS effective_date,
           ledger_private.audit_timestamp(e.recorded_at) AS recorded_at, e.reverses_entry_id
      FROM ledger_private.entry AS e;
COMMENT ON VIEW ledger.audit_entries IS
    'Journal entry headers, every hashed field in its canonical text (docs/audit.md).';

CREATE VIEW ledger.audit_postings AS
    SELECT p.book_id, p.entry_id, p.leg, p.account_id, a.code AS account_code, p.amount, p.currency,
           p.account_seq, p.balance_after,
           s.account_seq AS sequenced_account_seq, s.balance_after AS sequenced_balance_after
      FROM ledger_private.posting AS p
      LEFT JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
      LEFT JOIN ledger_private.deferred_sequence AS s
             ON p.account_seq IS NULL AND s.book_id = p.book_id AND s.entry_id = p.entry_id AND s.leg = p.leg;
COMMENT ON VIEW ledger.audit_postings IS
    'Postings as stored (account_seq and balance_after debit-positive; NULL on deferred accounts, hashed as NULL), '
    'plus the sequence number and running balance the sequencer gave a deferred leg later (not hashed).';

CREATE VIEW ledger.audit_seals AS
    SELECT s.book_id, b.code AS book_code, s.seal_no, s.from_entry_id, s.to_entry_id, s.entry_count,
           encode(s.merkle_root, 'hex') AS merkle_root, encode(s.prev_hash, 'hex') AS prev_hash,
           ledger_private.audit_timestamp(s.sealed_at) AS sealed_at, encode(s.seal_hash, 'hex') AS seal_hash
      FROM ledger_private.seal AS s
      LEFT JOIN ledger_private.book AS b ON b.book_id = s.book_id;
COMMENT ON VIEW ledger.audit_seals IS 'The seal chain of every book, hashes in lowercase hex (docs/audit.md).';

CREATE VIEW ledger.audit_sealed_entries AS
    SELECT se.book_id, se.entry_id, se.seal_no, encode(se.entry_hash, 'hex') AS entry_hash,
           ARRAY(SELECT encode(h.hash, 'hex') FROM unnest(se.leg_hashes) WITH ORDINALITY AS h(hash, i) ORDER BY h.i)
               AS leg_hashes
      FROM ledger_private.sealed_entry AS se;
COMMENT ON VIEW ledger.audit_sealed_entries IS
    'The hash of every sealed entry and of each of its legs (leg_hashes[i]: leg i), as sealed, in lowercase hex.';

COMMIT;
