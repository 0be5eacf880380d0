-- Revert dualbook:table_deferred_queue from pg

BEGIN;

-- Refuse to throw away queued legs: their balances exist nowhere else. Run ledger.sequence_deferred() first.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_private.deferred_leg) THEN
        RAISE EXCEPTION 'deferred legs are still queued: run ledger.sequence_deferred() before reverting';
    END IF;
END
$$;

DROP TABLE ledger_private.deferred_sequence;
DROP TABLE ledger_private.deferred_leg;

COMMIT;
