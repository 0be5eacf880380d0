-- Verify dualbook:function_helpers on pg

BEGIN;

SELECT 'ledger_private.require_serializable(text)'::regprocedure,
       'ledger_private.book_id(text)'::regprocedure,
       'ledger_private.add_checked(bigint, numeric, text)'::regprocedure,
       'ledger_private.normal_balance(text, bigint)'::regprocedure,
       'ledger_private.checked_metadata(jsonb, text)'::regprocedure,
       'ledger_private.metadata_depth_ok(jsonb)'::regprocedure,
       'ledger_private.echo(text)'::regprocedure;
DO $$
BEGIN
    ASSERT ledger_private.book_id('default') = 1, 'default book is not book 1';
    ASSERT length(ledger_private.echo(repeat('x', 1000000))) < 300, 'echo bounds its value';
    ASSERT ledger_private.metadata_depth_ok(('{"a":' || repeat('[', 31) || repeat(']', 31) || '}')::jsonb)
           AND NOT ledger_private.metadata_depth_ok(('{"a":' || repeat('[', 32) || repeat(']', 32) || '}')::jsonb),
        'metadata nests at most 32 levels';
END
$$;

ROLLBACK;
