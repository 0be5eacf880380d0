-- Deploy dualbook:table_posting_deferred to pg
-- requires: table_posting
-- A deferred account's posting is written without account_seq and balance_after: they are assigned by the
-- sequencer into ledger_private.deferred_sequence (postings stay append-only). Every other posting keeps both.

BEGIN;

ALTER TABLE ledger_private.posting
    ALTER COLUMN account_seq DROP NOT NULL,
    ALTER COLUMN balance_after DROP NOT NULL,
    ADD CONSTRAINT posting_seq_and_balance_together CHECK ((account_seq IS NULL) = (balance_after IS NULL));

COMMIT;
