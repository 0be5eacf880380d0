-- Revert dualbook:table_worker_lock from pg

BEGIN;

DROP TABLE ledger_private.worker_lock;

COMMIT;
