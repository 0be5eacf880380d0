-- Deploy dualbook:function_helpers to pg
-- requires: table_book
-- requires: table_error_catalog
-- Internal helpers shared by the API functions. Not executable by PUBLIC; the API functions are
-- SECURITY DEFINER and call them with the owner's rights.

BEGIN;

-- Every write function calls this first: the guarantees (serializable money movement) depend on it.
CREATE FUNCTION ledger_private.require_serializable(p_function text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'serializable' THEN
        RAISE EXCEPTION '% must run in a SERIALIZABLE transaction (this one is %)',
            p_function, upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'LD301',
                  DETAIL = json_build_object('function', p_function,
                                             'isolation', current_setting('transaction_isolation'))::text,
                  HINT = 'BEGIN ISOLATION LEVEL SERIALIZABLE, or SET default_transaction_isolation = serializable.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger_private.require_serializable(text) IS
    'Raises LD301 (not_serializable) unless the current transaction is SERIALIZABLE.';

-- A book code to its id. Raises LD101 for NULL, LD210 for an unknown code.
CREATE FUNCTION ledger_private.book_id(p_book text) RETURNS integer
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
COMMENT ON FUNCTION ledger_private.book_id(text) IS 'Book code -> book_id; raises LD101 (null) or LD210 (unknown_book).';

-- balance + delta, refusing (LD211) to leave the symmetric signed 64-bit range.
CREATE FUNCTION ledger_private.add_checked(p_balance bigint, p_delta numeric, p_account text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sum numeric := p_balance::numeric + p_delta;
BEGIN
    IF v_sum > 9223372036854775807 OR v_sum < -9223372036854775807 THEN
        RAISE EXCEPTION 'the balance of account % would leave the 64-bit range', quote_literal(p_account)
            USING ERRCODE = 'LD211',
                  DETAIL = json_build_object('account', p_account, 'balance', p_balance::text,
                                             'delta', p_delta::text)::text;
    END IF;
    RETURN v_sum::bigint;
END
$$;
COMMENT ON FUNCTION ledger_private.add_checked(bigint, numeric, text) IS
    'p_balance + p_delta as bigint; raises LD211 (balance_out_of_range) outside [-(2^63-1), 2^63-1].';

-- The debit-positive balance seen from the account's normal side (inlined by the planner).
CREATE FUNCTION ledger_private.normal_balance(p_type text, p_balance bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN p_type IN ('asset', 'expense') THEN p_balance ELSE -p_balance END;
COMMENT ON FUNCTION ledger_private.normal_balance(text, bigint) IS
    'Debit-normal types (asset, expense) keep the sign; credit-normal types (liability, equity, income) flip it.';

-- Metadata: NULL means {}; otherwise a JSON object of at most 8192 bytes as text (LD101 / LD105).
CREATE FUNCTION ledger_private.checked_metadata(p_metadata jsonb, p_what text) RETURNS jsonb
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

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger_private.checked_metadata(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.normal_balance(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.add_checked(bigint, numeric, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.book_id(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.require_serializable(text) FROM PUBLIC;

COMMIT;
