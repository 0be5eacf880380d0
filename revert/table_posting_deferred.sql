-- Revert dualbook:table_posting_deferred from pg
-- Fails (on purpose) once deferred postings exist: they have no inline sequence to restore.

BEGIN;

ALTER TABLE ledger_private.posting
    DROP CONSTRAINT posting_seq_and_balance_together,
    ALTER COLUMN account_seq SET NOT NULL,
    ALTER COLUMN balance_after SET NOT NULL;

COMMIT;
