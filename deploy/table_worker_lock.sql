-- Deploy dualbook:table_worker_lock to pg
-- requires: owner_ledger
-- The locks that serialise the ledger's background workers (the sequencer, the sealer). An advisory lock is open
-- to every role: any session, the application's included, can take pg_advisory_lock(hashtext('...')) and stop the
-- worker for as long as it likes. A row lock on a table is not: locking a row needs UPDATE (or SELECT ... FOR
-- UPDATE needs UPDATE) on the table, and this table grants nothing to anyone. Only the owner's SECURITY DEFINER
-- functions lock these rows (sequence_deferred, seal_journal), so only a session allowed to run the worker (or the
-- owner, or a superuser) can hold a worker's lock. One row per purpose; rows are never updated or deleted.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE TABLE ledger_private.worker_lock (
    purpose text PRIMARY KEY CHECK (purpose IN ('sequence_deferred', 'seal_journal'))
);
COMMENT ON TABLE ledger_private.worker_lock IS
    'One row per background worker (sequence_deferred, seal_journal): a run holds its row FOR UPDATE. No role but '
    'the owner has any privilege on it, so the application cannot take a worker''s lock (docs/security.md).';

INSERT INTO ledger_private.worker_lock (purpose) VALUES ('sequence_deferred'), ('seal_journal');

REVOKE ALL ON TABLE ledger_private.worker_lock FROM PUBLIC;

COMMIT;
