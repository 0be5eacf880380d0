-- Deploy dualbook:function_helpers to pg
-- requires: function_helpers@v0.2.0
-- requires: error_catalog
-- Two bounds on what a caller can make the ledger store or say:
-- * ledger_private.echo(): every value an error message, DETAIL or HINT repeats from the caller goes through it,
--   so a megabyte argument cannot make a megabyte error (nor fill the server log); book_id() uses it here, the
--   API functions in their own changes.
-- * Metadata nests at most 32 levels (LD111 metadata_too_deep), checked by checked_metadata() for post_entry,
--   reverse_entry, post_entries' per-entry path and create_account, and by metadata_depth_ok() for the set-based
--   path of post_entries. A document under the 8 KB limit can nest ~4,000 levels, and readers that follow JSON
--   recursively stop far earlier (Python's json near 1,000, .NET's System.Text.Json at 64 by default,
--   serde_json at 128): 32 is below every common parser default, leaves room for the metadata to sit inside an
--   envelope (an API response, an audit export record), and is far beyond any business document.
-- Both checked functions pin standard_conforming_strings as well as search_path (docs/security.md §8).

BEGIN;

SET LOCAL ROLE dualbook_owner;

-- A caller's text as errors repeat it: whole up to 256 characters (every valid code, key and name fits, so the
-- DETAIL of a well-sized value is exact), else its first 256 characters and a marker with the count left out.
-- An SQL-standard body: parsed once here, inlined where it is used.
CREATE FUNCTION ledger_private.echo(p_value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN length(p_value) <= 256 THEN p_value
            ELSE left(p_value, 256) || '...(+' || (length(p_value) - 256)::text || ' chars)' END;
COMMENT ON FUNCTION ledger_private.echo(text) IS
    'A value as error messages repeat it: whole up to 256 characters, else truncated with ''...(+N chars)''.';

-- Whether a JSON document nests at most 32 levels (the document itself is level 1): no object or array at
-- level 32 below it. NULL passes. jsonpath walks the document in C; metadata is at most 8 KB when it is called.
CREATE FUNCTION ledger_private.metadata_depth_ok(p_doc jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_doc IS NULL
    OR NOT jsonb_path_exists(p_doc, 'strict $.**{32 to last} ? (@.type() == "object" || @.type() == "array")');
COMMENT ON FUNCTION ledger_private.metadata_depth_ok(jsonb) IS
    'True unless the document nests deeper than 32 levels (the metadata limit, LD111 metadata_too_deep).';

-- A book code to its id. Raises LD101 for NULL, LD210 for an unknown code (the code echoed bounded).
CREATE OR REPLACE FUNCTION ledger_private.book_id(p_book text) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
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
        RAISE EXCEPTION 'unknown book %', quote_literal(ledger_private.echo(p_book))
            USING ERRCODE = 'LD210', DETAIL = json_build_object('book', ledger_private.echo(p_book))::text,
                  HINT = 'Create it with ledger.create_book(), or omit the argument to use the default book.';
    END IF;
    RETURN v_book_id;
END
$$;

-- Metadata: NULL means {}; otherwise a JSON object of at most 8192 bytes as text (LD101 / LD105) nesting at most
-- 32 levels (LD111). The depth walk is jsonpath's, in C: ~0.2 us for a small document, ~2-4 us for 1 KB of 40
-- objects. (A pre-check that counts brackets in the text first costs more than that: translate() over 1 KB of
-- text takes ~28 us; docs/performance.md.)
CREATE OR REPLACE FUNCTION ledger_private.checked_metadata(p_metadata jsonb, p_what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_text text;
BEGIN
    IF p_metadata IS NULL THEN
        RETURN '{}'::jsonb;
    END IF;
    IF jsonb_typeof(p_metadata) <> 'object' THEN
        RAISE EXCEPTION '% metadata must be a JSON object, not %', p_what, jsonb_typeof(p_metadata)
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'metadata')::text;
    END IF;
    v_text := p_metadata::text;
    IF octet_length(v_text) > 8192 THEN
        RAISE EXCEPTION '% metadata is % bytes, more than the limit of 8192', p_what, octet_length(v_text)
            USING ERRCODE = 'LD105',
                  DETAIL = json_build_object('argument', 'metadata', 'bytes', octet_length(v_text),
                                             'limit', 8192)::text,
                  HINT = 'Keep large documents elsewhere and store a reference in metadata.';
    END IF;
    IF NOT ledger_private.metadata_depth_ok(p_metadata) THEN
        RAISE EXCEPTION '% metadata nests deeper than the limit of 32 levels', p_what
            USING ERRCODE = 'LD111',
                  DETAIL = json_build_object('argument', 'metadata', 'limit', 32)::text,
                  HINT = 'Flatten the document: the metadata object is level 1, each object or array inside adds one.';
    END IF;
    RETURN p_metadata;
END
$$;
COMMENT ON FUNCTION ledger_private.checked_metadata(jsonb, text) IS
    'NULL -> {}; raises LD101 unless a JSON object, LD105 (metadata_too_large) above 8192 bytes, '
    'LD111 (metadata_too_deep) when nested deeper than 32 levels.';

REVOKE ALL ON FUNCTION ledger_private.echo(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.metadata_depth_ok(jsonb) FROM PUBLIC;

COMMIT;
