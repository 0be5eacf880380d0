-- Verify dualbook:function_sequence_deferred on pg

BEGIN;

SELECT 'ledger.sequence_deferred(integer)'::regprocedure;
DO $$
DECLARE
    v_def text := pg_get_functiondef('ledger.sequence_deferred(integer)'::regprocedure);
BEGIN
    ASSERT position('v_stuck' IN v_def) > 0, 'the sequencer leaves accounts it cannot fold out of its batch';
    ASSERT position('worker_lock' IN v_def) > 0 AND position('pg_try_advisory' IN v_def) = 0,
        'the sequencer locks its worker_lock row, not an advisory key';
    ASSERT position('SKIP LOCKED' IN v_def) > 0, 'the sequencer skips accounts another transaction holds';
    ASSERT EXISTS (SELECT 1 FROM pg_proc AS p CROSS JOIN unnest(p.proconfig) AS c(setting)
                    WHERE p.oid = 'ledger.sequence_deferred(integer)'::regprocedure AND c.setting = 'lock_timeout=5s'),
        'lock_timeout is pinned in the definition';
END
$$;

ROLLBACK;
