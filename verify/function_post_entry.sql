-- Verify dualbook:function_post_entry on pg

BEGIN;

SELECT 'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'::regprocedure,
       'ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint)'::regprocedure;
DO $$
BEGIN
    ASSERT (SELECT prosecdef FROM pg_proc
             WHERE oid = 'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'::regprocedure),
           'ledger.post_entry must be SECURITY DEFINER';
END
$$;

DO $$
BEGIN
    ASSERT position('deferred_leg' IN pg_get_functiondef(
        'ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint)'::regprocedure)) > 0,
        'ledger_private.post does not queue deferred legs';
END
$$;

DO $$
BEGIN
    ASSERT position('record_refusal' IN pg_get_functiondef(
        'ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint)'::regprocedure)) > 0,
        'ledger_private.post does not record refusals';
    ASSERT EXISTS (SELECT FROM pg_proc WHERE oid = 'ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'::regprocedure
                                  AND 'status' = ANY (proargnames)),
        'ledger.post_entry has no status column';
END
$$;
SELECT 'ledger_private.record_refusal(integer, text, bytea, text, text, text, text)'::regprocedure,
       'ledger_private.within_limits(bigint, bigint, bigint)'::regprocedure,
       'ledger_private.replayed_entry(integer, text, bytea, bigint)'::regprocedure,
       'ledger_private.recorded_refusals(integer, text[])'::regprocedure,
       'ledger_private.refusal_is_recorded(text)'::regprocedure;

ROLLBACK;
