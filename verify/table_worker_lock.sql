-- Verify dualbook:table_worker_lock on pg

BEGIN;

SELECT purpose FROM ledger_private.worker_lock WHERE FALSE;
DO $$
BEGIN
    ASSERT (SELECT count(*) FROM ledger_private.worker_lock) = 2, 'one lock row per worker';
    ASSERT NOT has_table_privilege('dualbook_app', 'ledger_private.worker_lock', 'SELECT, UPDATE, DELETE, TRUNCATE'),
        'the application holds no privilege on the worker locks';
END
$$;

ROLLBACK;
