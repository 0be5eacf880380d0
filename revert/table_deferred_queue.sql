-- Revert dualbook:table_deferred_queue from pg

BEGIN;

-- Queued legs and assigned sequence numbers exist nowhere else: refuse to throw them away.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_private.deferred_leg) OR EXISTS (SELECT 1 FROM ledger_private.deferred_sequence) THEN
        RAISE EXCEPTION 'deferred accounts have posted: reverting below table_deferred_queue would lose their legs';
    END IF;
END
$$;

DROP FUNCTION ledger_private.int64_or_null(numeric);
DROP TABLE ledger_private.deferred_sequence;
DROP TABLE ledger_private.deferred_leg;

COMMIT;
