-- Revert dualbook:function_helpers from pg: the helpers as of @v0.2.0 (deploy/function_helpers@v0.2.0.sql).

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger_private.book_id(p_book text) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_book_id integer;
BEGIN
    IF p_book IS NULL THEN
        RAISE EXCEPTION 'book must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'book')::text,
                  HINT = 'Omit the argument to use the default book.';
    END IF;
    SELECT b.book_id INTO v_book_id FROM ledger_private.book AS b WHERE b.code = p_book;
    IF v_book_id IS NULL THEN
        RAISE EXCEPTION 'unknown book %', quote_literal(p_book)
            USING ERRCODE = 'LD210', DETAIL = json_build_object('book', p_book)::text,
                  HINT = 'Create it with ledger.create_book(), or omit the argument to use the default book.';
    END IF;
    RETURN v_book_id;
END
$$;

CREATE OR REPLACE FUNCTION ledger_private.checked_metadata(p_metadata jsonb, p_what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_metadata IS NULL THEN
        RETURN '{}'::jsonb;
    END IF;
    IF jsonb_typeof(p_metadata) <> 'object' THEN
        RAISE EXCEPTION '% metadata must be a JSON object, not %', p_what, jsonb_typeof(p_metadata)
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'metadata')::text;
    END IF;
    IF octet_length(p_metadata::text) > 8192 THEN
        RAISE EXCEPTION '% metadata is % bytes, more than the limit of 8192', p_what, octet_length(p_metadata::text)
            USING ERRCODE = 'LD105',
                  DETAIL = json_build_object('argument', 'metadata', 'bytes', octet_length(p_metadata::text),
                                             'limit', 8192)::text,
                  HINT = 'Keep large documents elsewhere and store a reference in metadata.';
    END IF;
    RETURN p_metadata;
END
$$;
COMMENT ON FUNCTION ledger_private.checked_metadata(jsonb, text) IS
    'NULL -> {}; raises LD101 unless a JSON object, LD105 (metadata_too_large) above 8192 bytes.';

DROP FUNCTION ledger_private.metadata_depth_ok(jsonb);
DROP FUNCTION ledger_private.echo(text);

COMMIT;
