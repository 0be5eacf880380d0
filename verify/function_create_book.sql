-- Verify dualbook:function_create_book on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp', 'standard_conforming_strings=on']
              FROM pg_proc WHERE oid = 'ledger.create_book(text, text)'::regprocedure),
        'create_book pins search_path and standard_conforming_strings';
    ASSERT (SELECT prosrc LIKE '%ledger_private.echo(p_code)%' FROM pg_proc
             WHERE oid = 'ledger.create_book(text, text)'::regprocedure),
        'create_book echoes a rejected code bounded';
END
$$;

ROLLBACK;
