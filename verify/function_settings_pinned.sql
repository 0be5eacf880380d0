-- Verify dualbook:function_settings_pinned on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT EXISTS (
        SELECT FROM pg_proc AS p
         WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
           AND p.prosqlbody IS NULL
           AND NOT coalesce(p.proconfig @> ARRAY['standard_conforming_strings=on'], false)),
        'every ledger function with a string body pins standard_conforming_strings';
    ASSERT (SELECT count(*) FROM pg_proc AS p
             WHERE p.oid IN ('ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text)'::regprocedure,
                             'ledger.post_entries(jsonb, boolean, text)'::regprocedure,
                             'ledger.reverse_entry(bigint, text, text, text)'::regprocedure)
               AND p.proconfig @> ARRAY['lock_timeout=2s']) = 3,
        'the posting functions pin lock_timeout';
END
$$;

ROLLBACK;
