-- Deploy dualbook:hold_requests to pg
-- requires: holds
-- requires: function_close_account_holds
-- requires: error_catalog
-- Many hold, capture and void requests in one call and one SERIALIZABLE transaction (one commit, one round trip):
-- what the group poster sends for Ledger.hold / capture / void, as it sends post_entries for post_entry. Non-atomic
-- like post_entries: each request runs in its own subtransaction by calling ledger.hold_entry, capture_hold or
-- void_hold (the rules live there, once), in array order, so a request sees the requests before it (a capture of
-- a hold placed earlier in the batch, two holds on one wallet, a key used twice replays). A raised LDnnn error
-- becomes the request's row ('rejected': nothing of it was written) and undoes only that request; a refusal the
-- functions record with the key ('refused') is returned as they return it. Anything else (40001, 40P01, 55P03,
-- ...) is re-raised, so that the caller retries the whole batch; every request replays by its key.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE FUNCTION ledger.hold_requests(
    p_requests jsonb,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (
    idx integer,
    op text,
    status text,
    hold_id bigint,
    entry_id bigint,
    created boolean,
    recorded_at timestamptz,
    expires_at timestamptz,
    amount bigint,
    released_amount bigint,
    released jsonb,
    available jsonb,
    balances jsonb,
    error_code text,
    error_message text,
    error_detail text,
    error_hint text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET lock_timeout = '2s'
AS $$
DECLARE
    c_max_requests constant integer := 1000;
    v_n integer;
    v_req jsonb;
    v_op text;
    v_hold bigint;
    v_amount bigint;
    v_date date;
    v_expires timestamptz;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
    v_h record;
    v_c record;
    v_v record;
    v_book_id integer;
    v_holds bigint[];
BEGIN
    PERFORM ledger_private.require_serializable('ledger.hold_requests');
    v_book_id := ledger_private.book_id(p_book);
    IF p_requests IS NULL OR jsonb_typeof(p_requests) <> 'array' THEN
        RAISE EXCEPTION 'requests must be a JSON array of {"op": "hold" | "capture" | "void", "key", ...} objects'
            USING ERRCODE = 'LD232', DETAIL = json_build_object('argument', 'requests')::text;
    END IF;
    v_n := jsonb_array_length(p_requests);
    IF v_n NOT BETWEEN 1 AND c_max_requests THEN
        RAISE EXCEPTION 'a batch has 1 to % hold requests, got %', c_max_requests, v_n
            USING ERRCODE = 'LD230', DETAIL = json_build_object('requests', v_n, 'limit', c_max_requests)::text;
    END IF;

    -- Before any request runs: the holds the batch resolves, in id order (capture_hold and void_hold lock the hold,
    -- then its accounts), then every account of the batch -- the legs of its new holds and of the holds it
    -- resolves -- in code order (lock_accounts()), so that two batches, or a batch and single calls, never
    -- deadlock. Ids and codes of the wrong type or unknown are skipped: each request's checks report them.
    IF v_n > 1 THEN
        v_holds := ARRAY(
            SELECT DISTINCT (c #>> '{}')::bigint
              FROM jsonb_path_query(p_requests, 'lax $[*] ? (@.op == "capture" || @.op == "void").hold_id
                                                 ? (@.type() == "number" && @ >= 1 && @ <= 9223372036854775807
                                                    && @.floor() == @)') AS c
             ORDER BY 1);
        PERFORM 1
          FROM unnest(v_holds) AS k(hold_id)
         CROSS JOIN LATERAL (SELECT FROM ledger_private.hold AS h
                              WHERE h.hold_id = k.hold_id AND h.book_id = v_book_id FOR UPDATE) AS l;
        PERFORM ledger_private.lock_accounts(v_book_id, ARRAY(
            SELECT c #>> '{}'
              FROM jsonb_path_query(p_requests, 'lax $[*] ? (@.op == "hold").legs[*].account ? (@.type() == "string")') AS c
            UNION ALL
            SELECT l.account FROM ledger_private.hold_leg AS l WHERE l.hold_id = ANY (v_holds)));
    END IF;

    FOR v_i IN 1 .. v_n LOOP
        v_req := p_requests -> (v_i - 1);
        v_op := CASE WHEN jsonb_typeof(v_req) = 'object' AND jsonb_typeof(v_req -> 'op') = 'string'
                     THEN v_req ->> 'op' END;
        idx := v_i;
        op := CASE WHEN v_op IN ('hold', 'capture', 'void') THEN v_op END;  -- never an unknown op echoed
        status := NULL; hold_id := NULL; entry_id := NULL; created := NULL; recorded_at := NULL;
        expires_at := NULL; amount := NULL; released_amount := NULL; released := NULL; available := NULL;
        balances := NULL; error_code := NULL; error_message := NULL; error_detail := NULL; error_hint := NULL;
        BEGIN  -- a subtransaction per request: a rejected request leaves nothing behind
            -- the request's shape (the three functions check the values)
            IF v_op IS NULL OR v_op NOT IN ('hold', 'capture', 'void')
               OR jsonb_typeof(v_req -> 'key') IS DISTINCT FROM 'string'
               OR (v_op = 'hold' AND ((v_req - 'op' - 'key' - 'legs' - 'description' - 'metadata' - 'effective_date'
                                       - 'expires_at') <> '{}'::jsonb
                                      OR jsonb_typeof(coalesce(v_req -> 'description', 'null')) NOT IN ('string', 'null')
                                      OR jsonb_typeof(coalesce(v_req -> 'metadata', 'null')) NOT IN ('object', 'null')
                                      OR jsonb_typeof(coalesce(v_req -> 'effective_date', 'null')) NOT IN ('string', 'null')
                                      OR jsonb_typeof(coalesce(v_req -> 'expires_at', 'null')) NOT IN ('string', 'null')
                                      OR coalesce(v_req ->> 'effective_date', '2000-01-01') !~ '^\d{4}-\d{2}-\d{2}$'))
               OR (v_op = 'capture' AND ((v_req - 'op' - 'key' - 'hold_id' - 'amount') <> '{}'::jsonb
                                         OR jsonb_typeof(coalesce(v_req -> 'amount', 'null')) NOT IN ('number', 'null')))
               OR (v_op = 'void' AND (v_req - 'op' - 'key' - 'hold_id') <> '{}'::jsonb)
               OR (v_op IN ('capture', 'void') AND jsonb_typeof(v_req -> 'hold_id') IS DISTINCT FROM 'number') THEN
                RAISE EXCEPTION 'a hold request is {"op": "hold", "key", "legs", "description"?, "metadata"?, '
                                '"effective_date"?, "expires_at"?}, {"op": "capture", "key", "hold_id", "amount"?} '
                                'or {"op": "void", "key", "hold_id"}'
                    USING ERRCODE = 'LD231', DETAIL = json_build_object('request', v_i)::text;
            END IF;
            BEGIN
                v_date := (v_req ->> 'effective_date')::date;
                v_expires := (v_req ->> 'expires_at')::timestamptz;
                v_hold := (v_req ->> 'hold_id')::bigint;
                v_amount := (v_req ->> 'amount')::bigint;
            EXCEPTION WHEN data_exception THEN
                RAISE EXCEPTION 'request %: a value is not of its type (effective_date a date, expires_at a '
                                'timestamp, hold_id and amount 64-bit integers)', v_i
                    USING ERRCODE = 'LD231', DETAIL = json_build_object('request', v_i)::text;
            END;
            IF v_op = 'hold' THEN
                SELECT * INTO v_h
                  FROM ledger.hold_entry(v_req ->> 'key', v_req -> 'legs', v_req ->> 'description',
                                         CASE WHEN jsonb_typeof(v_req -> 'metadata') = 'object'
                                              THEN v_req -> 'metadata' END,
                                         v_date, v_expires, p_book) AS h;
                status := v_h.status; hold_id := v_h.hold_id; created := v_h.created;
                recorded_at := v_h.recorded_at; expires_at := v_h.expires_at; available := v_h.available;
                error_code := v_h.error_code; error_message := v_h.error_message;
                error_detail := v_h.error_detail; error_hint := v_h.error_hint;
            ELSIF v_op = 'capture' THEN
                SELECT * INTO v_c FROM ledger.capture_hold(v_hold, v_req ->> 'key', v_amount, p_book) AS c;
                status := v_c.status; hold_id := v_c.hold_id; entry_id := v_c.entry_id; created := v_c.created;
                recorded_at := v_c.recorded_at; amount := v_c.amount; released_amount := v_c.released;
                balances := v_c.balances; error_code := v_c.error_code; error_message := v_c.error_message;
                error_detail := v_c.error_detail; error_hint := v_c.error_hint;
            ELSE
                SELECT * INTO v_v FROM ledger.void_hold(v_hold, v_req ->> 'key', p_book) AS v;
                status := v_v.status; hold_id := v_v.hold_id; created := v_v.created;
                recorded_at := v_v.resolved_at; released := v_v.released;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
            IF v_state NOT LIKE 'LD%' THEN
                RAISE;  -- 40001, 40P01, 55P03, ...: the caller retries the whole batch
            END IF;
            status := 'rejected'; hold_id := NULL; entry_id := NULL; created := NULL; recorded_at := NULL;
            expires_at := NULL; amount := NULL; released_amount := NULL; released := NULL; available := NULL;
            balances := NULL; error_code := v_state; error_message := v_message;
            error_detail := nullif(v_detail, ''); error_hint := nullif(v_hint, '');
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger.hold_requests(jsonb, text) IS
    'Run 1-1000 hold, capture and void requests in one call, in order, each through ledger.hold_entry, '
    'capture_hold or void_hold in its own subtransaction: p_requests = [{"op": "hold", "key", "legs", '
    '"description"?, "metadata"?, "effective_date"?, "expires_at"?} | {"op": "capture", "key", "hold_id", '
    '"amount"?} | {"op": "void", "key", "hold_id"}, ...]. One row per request: that function''s result '
    '(void: resolved_at as recorded_at; capture: released as released_amount) or status rejected with '
    'error_code, error_message, error_detail, error_hint (nothing of it was written). Raised: LD210, LD230 '
    'too_many_hold_requests, LD232 hold_requests_not_array, LD301; per request also LD231 malformed_hold_request.';

REVOKE ALL ON FUNCTION ledger.hold_requests(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.hold_requests(jsonb, text) TO dualbook_app;

COMMIT;
