-- Revert dualbook:function_reverse_entry_dated from pg: back to reverse_entry without an effective date.

BEGIN;

DROP FUNCTION ledger.reverse_entry(bigint, text, text, text, date);

SET LOCAL ROLE dualbook_owner;

CREATE FUNCTION ledger.reverse_entry(
    p_entry_id bigint,
    p_idempotency_key text,
    p_reason text DEFAULT NULL,
    p_book text DEFAULT 'default',
    OUT status text,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_book_id integer;
    v_legs jsonb;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.reverse_entry');
    v_book_id := ledger_private.book_id(p_book);
    IF p_entry_id IS NULL THEN
        RAISE EXCEPTION 'entry id must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'entry_id')::text;
    END IF;
    IF length(p_reason) > 900 THEN
        RAISE EXCEPTION 'reason is longer than 900 characters'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'reason')::text;
    END IF;
    SELECT jsonb_agg(jsonb_build_object('account', a.code, 'amount', (-p.amount)::text, 'currency', p.currency)
                     ORDER BY p.leg)
      INTO v_legs
      FROM ledger_private.posting AS p
      JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
     WHERE p.book_id = v_book_id AND p.entry_id = p_entry_id;
    IF v_legs IS NULL THEN
        RAISE EXCEPTION 'unknown entry %', p_entry_id
            USING ERRCODE = 'LD208', DETAIL = json_build_object('entry_id', p_entry_id, 'book', p_book)::text;
    END IF;
    SELECT r.status, r.entry_id, r.created, r.recorded_at, r.balances, r.error_code, r.error_message, r.error_detail,
           r.error_hint
      INTO reverse_entry.status, reverse_entry.entry_id, reverse_entry.created, reverse_entry.recorded_at,
           reverse_entry.balances, reverse_entry.error_code, reverse_entry.error_message, reverse_entry.error_detail,
           reverse_entry.error_hint
      FROM ledger_private.post(p_book, p_idempotency_key, v_legs,
                               'Reversal of entry ' || p_entry_id || coalesce(': ' || p_reason, ''),
                               jsonb_build_object('reverses', p_entry_id, 'reason', p_reason),
                               NULL, NULL, p_entry_id) AS r;
END
$$;
COMMENT ON FUNCTION ledger.reverse_entry(bigint, text, text, text) IS
    'Post the mirror image of an entry (all amounts negated) linked to it; at most once per entry; obeys limits. '
    'Idempotent by key like post_entry, with the same result row: status posted | replayed | refused (LD201-LD204, '
    'LD209 already_reversed, LD211, recorded with the key). The reversal''s effective date is the day it is posted '
    '(UTC). Raised errors: LD101, LD205, LD208 unknown_entry, LD210, LD301.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default. The application executes
-- it (as deploy/grant_ledger.sql granted the function this change replaces).
REVOKE ALL ON FUNCTION ledger.reverse_entry(bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.reverse_entry(bigint, text, text, text) TO dualbook_app;


COMMIT;
