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
    -- by name: a later change may give a posting function another signature (reverse_entry gained a date)
    ASSERT NOT EXISTS (
        SELECT FROM pg_proc AS p
         WHERE p.pronamespace = 'ledger'::regnamespace
           AND p.proname IN ('post_entry', 'post_entries', 'reverse_entry')
           AND NOT coalesce(p.proconfig @> ARRAY['lock_timeout=2s'], false)),
        'the posting functions pin lock_timeout';
END
$$;

ROLLBACK;
