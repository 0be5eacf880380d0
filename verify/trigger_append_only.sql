-- Verify dualbook:trigger_append_only on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT count(*) FROM pg_trigger
             WHERE tgname IN ('entry_append_only', 'posting_append_only', 'account_no_delete',
                              'account_immutable_columns', 'currency_no_delete', 'currency_immutable_columns',
                              'book_no_delete', 'book_immutable_columns')
               AND tgenabled = 'O') = 8, 'append-only triggers missing or disabled';
END
$$;

ROLLBACK;
