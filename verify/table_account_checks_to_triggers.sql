-- Verify dualbook:table_account_checks_to_triggers on pg

BEGIN;

SELECT 'ledger_private.account_check_row()'::regprocedure;
DO $$
BEGIN
    -- the attribute checks run in triggers, not as CHECK constraints evaluated by every balance update
    ASSERT NOT EXISTS (SELECT 1 FROM pg_constraint
                        WHERE conrelid = 'ledger_private.account'::regclass AND contype = 'c'
                          AND conname NOT IN ('account_balance_check', 'account_seq_check')),
           'account still has attribute CHECK constraints';
    ASSERT (SELECT count(*) FROM pg_trigger
             WHERE tgrelid = 'ledger_private.account'::regclass
               AND tgname IN ('account_checks_on_insert', 'account_checks_on_update')) = 2,
           'the account check triggers are missing';
    -- no BEFORE ... FOR EACH ROW UPDATE trigger: it would lock every updated row before the update
    -- (tgtype bits: 1 = ROW, 2 = BEFORE, 16 = UPDATE)
    ASSERT NOT EXISTS (SELECT 1 FROM pg_trigger
                        WHERE tgrelid = 'ledger_private.account'::regclass AND NOT tgisinternal
                          AND tgtype & 1 <> 0 AND tgtype & 2 <> 0 AND tgtype & 16 <> 0),
           'account has a BEFORE ROW UPDATE trigger';
    ASSERT (SELECT tgtype & 1 = 0 AND tgattr::text <> '' FROM pg_trigger
             WHERE tgrelid = 'ledger_private.account'::regclass AND tgname = 'account_immutable_columns'),
           'account_immutable_columns is not a statement-level trigger on the immutable columns';
END
$$;

ROLLBACK;
