-- Deploy dualbook:table_audit_seal to pg
-- requires: table_entry
-- requires: trigger_append_only
-- The tamper-evident journal (docs/audit.md). Each book has its own chain of seals, numbered 1, 2, 3, ...
-- Seal n of a book covers every entry of that book whose id lies in (from_entry_id, to_entry_id]; the ranges of
-- consecutive seals touch (seal n+1 starts where seal n ends), so the chain covers the book's history from id 0
-- to the last seal's to_entry_id without gaps. A seal stores the Merkle root of its entries' hashes, the hash of
-- the previous seal of its book, and its own hash over all of that (the canonical encoding is in
-- deploy/function_audit_hash.sql and docs/audit.md).
--
-- sealed_entry keeps the hash of every sealed entry and of each of its legs, so a verifier can say which entry,
-- and which leg of it, no longer matches what was sealed. Both tables are written only by ledger.seal_journal()
-- (the sealer), never by a posting: posting neither reads nor writes them, so the chain is no hot spot.
-- Both are append-only like the journal. No foreign keys, for the reason the journal has none (design.md §3):
-- ledger.audit_verify() proves the references.

BEGIN;

CREATE TABLE ledger_private.seal (
    book_id       integer NOT NULL,
    seal_no       bigint NOT NULL CHECK (seal_no >= 1),
    from_entry_id bigint NOT NULL CHECK (from_entry_id >= 0),
    to_entry_id   bigint NOT NULL,
    entry_count   integer NOT NULL CHECK (entry_count >= 1),
    merkle_root   bytea NOT NULL CHECK (length(merkle_root) = 32),
    prev_hash     bytea CHECK (length(prev_hash) = 32),
    sealed_at     timestamptz NOT NULL,
    seal_hash     bytea NOT NULL CHECK (length(seal_hash) = 32),
    PRIMARY KEY (book_id, seal_no),
    CHECK (to_entry_id > from_entry_id),
    CHECK ((seal_no = 1) = (prev_hash IS NULL))
);
COMMENT ON TABLE ledger_private.seal IS
    'The hash chain of each book: seal n covers the book''s entries with id in (from_entry_id, to_entry_id] '
    '(append-only; written by ledger.seal_journal()).';
COMMENT ON COLUMN ledger_private.seal.to_entry_id IS
    'The watermark: when this seal was made, no entry with an id up to here could still commit.';
COMMENT ON COLUMN ledger_private.seal.prev_hash IS 'seal_hash of the previous seal of the book; NULL for seal 1.';

CREATE TABLE ledger_private.sealed_entry (
    book_id    integer NOT NULL,
    entry_id   bigint NOT NULL,
    seal_no    bigint NOT NULL,
    entry_hash bytea NOT NULL CHECK (length(entry_hash) = 32),
    leg_hashes bytea[] NOT NULL,
    PRIMARY KEY (book_id, entry_id)
);
COMMENT ON TABLE ledger_private.sealed_entry IS
    'The hash of every sealed entry and of each of its legs (leg_hashes[i]: leg i), as sealed (append-only).';

CREATE TRIGGER seal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.seal
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('seals are append-only');
CREATE TRIGGER sealed_entry_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.sealed_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('sealed entry hashes are append-only');

COMMIT;
