-- Verify dualbook:table_posting_deferred on pg

BEGIN;

DO $$
BEGIN
    ASSERT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'posting_seq_and_balance_together'),
        'posting_seq_and_balance_together is missing';
END
$$;

ROLLBACK;
