-- Verify dualbook:function_helpers on pg

BEGIN;

SELECT 'ledger_private.require_serializable(text)'::regprocedure,
       'ledger_private.book_id(text)'::regprocedure,
       'ledger_private.add_checked(bigint, numeric, text)'::regprocedure,
       'ledger_private.normal_balance(text, bigint)'::regprocedure,
       'ledger_private.checked_metadata(jsonb, text)'::regprocedure;
DO $$ BEGIN ASSERT ledger_private.book_id('default') = 1, 'default book is not book 1'; END $$;

ROLLBACK;
