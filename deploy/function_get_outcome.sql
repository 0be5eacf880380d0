-- Deploy dualbook:function_get_outcome to pg
-- requires: function_post_entries
-- What became of an idempotency key, from the key alone: a client that lost the answer to a write learns
-- whether it posted (and which entry), was refused (the recorded refusal), or never reached the ledger.
-- A point read like get_entry_by_key: SECURITY DEFINER, callers need EXECUTE only.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE FUNCTION ledger.get_outcome(
    p_idempotency_key text,
    p_book text DEFAULT 'default',
    OUT outcome text,
    OUT entry_id bigint,
    OUT recorded_at timestamptz,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
BEGIN
    IF p_idempotency_key IS NULL THEN
        RAISE EXCEPTION 'idempotency key must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'idempotency_key')::text;
    END IF;
    SELECT e.entry_id, e.recorded_at INTO get_outcome.entry_id, get_outcome.recorded_at
      FROM ledger_private.entry AS e
     WHERE e.book_id = v_book_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := 'posted';
        RETURN;
    END IF;
    SELECT r.recorded_at, r.sqlstate, r.message, r.detail, r.hint
      INTO get_outcome.recorded_at, get_outcome.error_code, get_outcome.error_message, get_outcome.error_detail,
           get_outcome.error_hint
      FROM ledger_private.recorded_refusals(v_book_id, ARRAY[p_idempotency_key]) AS r;
    outcome := CASE WHEN FOUND THEN 'refused' ELSE 'unknown' END;
END
$$;
COMMENT ON FUNCTION ledger.get_outcome(text, text) IS
    'What became of an idempotency key: outcome posted (entry_id, recorded_at) | refused (the recorded refusal: '
    'recorded_at, error_code, error_message, error_detail, error_hint) | unknown (no call with the key has committed; the key '
    'is unused). Errors: LD101, LD210.';

REVOKE ALL ON FUNCTION ledger.get_outcome(text, text) FROM PUBLIC;
-- Granted like the other point reads (deploy/grant_ledger.sql): the application and the reader.
GRANT EXECUTE ON FUNCTION ledger.get_outcome(text, text) TO dualbook_app, dualbook_reader;

COMMIT;
