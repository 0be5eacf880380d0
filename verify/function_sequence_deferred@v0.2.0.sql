-- Verify dualbook:function_sequence_deferred on pg

BEGIN;

SELECT 'ledger.sequence_deferred(integer)'::regprocedure;
DO $$ BEGIN ASSERT EXISTS (SELECT 1 FROM ledger.error_codes WHERE sqlstate = 'LD303'), 'LD303 missing'; END $$;
DO $$
BEGIN
    ASSERT position('v_stuck' IN pg_get_functiondef('ledger.sequence_deferred(integer)'::regprocedure)) > 0,
        'the sequencer leaves accounts it cannot fold out of its batch';
END
$$;

ROLLBACK;
