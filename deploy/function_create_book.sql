-- Deploy dualbook:function_create_book to pg
-- requires: function_create_book@v0.2.0
-- requires: function_helpers
-- Reworked: a rejected code is repeated in the error through ledger_private.echo() (at most 256 characters and a
-- marker), so a megabyte argument makes a short error; standard_conforming_strings is pinned with search_path.
-- CREATE OR REPLACE keeps the owner and the grants.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.create_book(
    p_code text,
    p_name text DEFAULT NULL,
    OUT book_id integer,
    OUT created boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_name text := coalesce(p_name, p_code);
    v_existing text;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.create_book');
    IF p_code IS NULL OR p_code !~ '^[a-z0-9][a-z0-9_.:-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid book code %', coalesce(quote_literal(ledger_private.echo(p_code)), 'NULL')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'code', 'value', ledger_private.echo(p_code))::text,
                  HINT = 'A book code is 1-63 characters of a-z, 0-9, _ . : - starting with a letter or digit.';
    END IF;
    IF length(v_name) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'book name must be 1-200 characters'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'name')::text;
    END IF;
    INSERT INTO ledger_private.book AS b (code, name) VALUES (p_code, v_name)
        ON CONFLICT (code) DO NOTHING
        RETURNING b.book_id INTO create_book.book_id;
    IF create_book.book_id IS NOT NULL THEN
        created := true;
        RETURN;
    END IF;
    SELECT b.book_id, b.name INTO create_book.book_id, v_existing FROM ledger_private.book AS b WHERE b.code = p_code;
    IF v_existing IS DISTINCT FROM v_name THEN
        RAISE EXCEPTION 'book % exists with a different name', quote_literal(p_code)
            USING ERRCODE = 'LD213', DETAIL = json_build_object('book', p_code, 'name', v_existing)::text;
    END IF;
    created := false;
END
$$;
COMMENT ON FUNCTION ledger.create_book(text, text) IS
    'Create a book (a separate ledger). Idempotent: the same code and name return the existing book with '
    'created = false. Errors: LD101 invalid_argument, LD213 book_exists, LD301 not_serializable.';

COMMIT;
