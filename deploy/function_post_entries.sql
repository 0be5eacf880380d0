-- Deploy dualbook:function_post_entries to pg
-- requires: function_post_entry
-- Batch posting: many entries in one call and one SERIALIZABLE transaction (one commit, one round trip).
-- Each entry has its own idempotency key and its own result. By default a bad entry is rejected alone (its
-- work is undone in a subtransaction) and the others post; with p_atomic the batch is all or nothing and the
-- first failure is raised, naming the entry. Serialization failures (40001/40P01) are never caught: the whole
-- batch is retried by the caller, and replays of its already-posted keys are no-ops.

BEGIN;

INSERT INTO ledger_private.error_catalog (sqlstate, name, category, description) VALUES
    ('LD110', 'too_many_entries', 'validation', 'A batch has more entries than the maximum (1000), or none.');

CREATE FUNCTION ledger.post_entries(
    p_entries jsonb,
    p_atomic boolean DEFAULT false,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (
    idx integer,
    status text,
    entry_id bigint,
    created boolean,
    recorded_at timestamptz,
    balances jsonb,
    error_code text,
    error_message text,
    error_detail text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_entries constant integer := 1000;
    v_n integer;
    v_cur integer;
    v_entry_id bigint;
    v_created boolean;
    v_recorded_at timestamptz;
    v_balances jsonb;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.post_entries');
    PERFORM ledger_private.book_id(p_book);
    IF p_atomic IS NULL THEN
        RAISE EXCEPTION 'p_atomic must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'atomic')::text;
    END IF;
    IF p_entries IS NULL OR jsonb_typeof(p_entries) <> 'array' THEN
        RAISE EXCEPTION 'entries must be a JSON array of {"key", "legs", ...} objects'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'entries')::text;
    END IF;
    v_n := jsonb_array_length(p_entries);
    IF v_n NOT BETWEEN 1 AND c_max_entries THEN
        RAISE EXCEPTION 'a batch has 1 to % entries, got %', c_max_entries, v_n
            USING ERRCODE = 'LD110', DETAIL = json_build_object('entries', v_n, 'limit', c_max_entries)::text;
    END IF;

    BEGIN
        FOR v_i IN 1 .. v_n LOOP
            v_cur := v_i;
            v_state := NULL;
            IF p_atomic THEN
                SELECT * INTO v_entry_id, v_created, v_recorded_at, v_balances
                  FROM ledger_private.post_batch_entry(p_book, p_entries -> (v_i - 1));
            ELSE
                BEGIN  -- a subtransaction per entry: a rejected entry leaves nothing behind
                    SELECT * INTO v_entry_id, v_created, v_recorded_at, v_balances
                      FROM ledger_private.post_batch_entry(p_book, p_entries -> (v_i - 1));
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                            v_detail = PG_EXCEPTION_DETAIL;
                    IF v_state NOT LIKE 'LD%' THEN
                        RAISE;  -- 40001, 40P01, ...: the caller retries the whole batch
                    END IF;
                END;
            END IF;
            idx := v_i;
            IF v_state IS NULL THEN
                status := CASE WHEN v_created THEN 'posted' ELSE 'replayed' END;
                entry_id := v_entry_id;
                created := v_created;
                recorded_at := v_recorded_at;
                balances := v_balances;
                error_code := NULL;
                error_message := NULL;
                error_detail := NULL;
            ELSE
                status := 'rejected';
                entry_id := NULL;
                created := NULL;
                recorded_at := NULL;
                balances := NULL;
                error_code := v_state;
                error_message := v_message;
                error_detail := v_detail;
            END IF;
            RETURN NEXT;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL,
                                v_hint = PG_EXCEPTION_HINT;
        IF v_state NOT LIKE 'LD%' THEN
            RAISE;
        END IF;
        RAISE EXCEPTION 'entry %: %', v_cur, v_message
            USING ERRCODE = v_state,
                  DETAIL = (coalesce(v_detail, '{}')::jsonb || jsonb_build_object('entry', v_cur))::text,
                  HINT = coalesce(nullif(v_hint, '') || ' ', '') || 'The batch is all or nothing: nothing was posted.';
    END;
END
$$;
COMMENT ON FUNCTION ledger.post_entries(jsonb, boolean, text) IS
    'Post 1-1000 entries in one call: p_entries = [{"key", "legs", "description"?, "metadata"?, "effective_date"?, '
    '"assertions"?}, ...] with the meaning of ledger.post_entry''s arguments. One row per entry, in order: status '
    'posted | replayed | rejected (error_code, error_message, error_detail; nothing of it was written). p_atomic: '
    'all or nothing, the first failure is raised with "entry" added to its DETAIL. Errors: LD101, LD110 '
    'too_many_entries, LD210, LD301; with p_atomic, any error of post_entry.';

-- One element of a batch -> ledger_private.post (validates the element's shape first).
CREATE FUNCTION ledger_private.post_batch_entry(
    p_book text,
    p_entry jsonb,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_date date;
BEGIN
    IF jsonb_typeof(p_entry) IS DISTINCT FROM 'object'
       OR (p_entry - 'key' - 'legs' - 'description' - 'metadata' - 'effective_date' - 'assertions') <> '{}'::jsonb
       OR jsonb_typeof(p_entry -> 'key') IS DISTINCT FROM 'string'
       OR jsonb_typeof(coalesce(p_entry -> 'description', 'null')) NOT IN ('string', 'null')
       OR jsonb_typeof(coalesce(p_entry -> 'effective_date', 'null')) NOT IN ('string', 'null')
       OR coalesce(p_entry ->> 'effective_date', '2000-01-01') !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RAISE EXCEPTION 'a batch entry is {"key": text, "legs": [...], "description"?: text, "metadata"?: object, '
                        '"effective_date"?: "YYYY-MM-DD", "assertions"?: [...]}'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'entries')::text;
    END IF;
    BEGIN
        v_date := (p_entry ->> 'effective_date')::date;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        RAISE EXCEPTION 'effective_date % is not a date', quote_literal(p_entry ->> 'effective_date')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'effective_date')::text;
    END;
    SELECT r.entry_id, r.created, r.recorded_at, r.balances
      INTO post_batch_entry.entry_id, post_batch_entry.created, post_batch_entry.recorded_at, post_batch_entry.balances
      FROM ledger_private.post(p_book, p_entry ->> 'key', p_entry -> 'legs', p_entry ->> 'description',
                               CASE WHEN jsonb_typeof(p_entry -> 'metadata') = 'null' THEN NULL ELSE p_entry -> 'metadata' END,
                               v_date,
                               CASE WHEN jsonb_typeof(p_entry -> 'assertions') = 'null' THEN NULL ELSE p_entry -> 'assertions' END,
                               NULL) AS r;
END
$$;
COMMENT ON FUNCTION ledger_private.post_batch_entry(text, jsonb) IS 'One entry of ledger.post_entries().';

REVOKE ALL ON FUNCTION ledger.post_entries(jsonb, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.post_batch_entry(text, jsonb) FROM PUBLIC;

COMMIT;
