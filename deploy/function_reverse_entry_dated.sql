-- Deploy dualbook:function_reverse_entry_dated to pg
-- requires: function_reverse_entry
-- requires: function_close_period
-- reverse_entry takes the reversal's effective date. By default it is the original entry's date while that date's
-- period is open, else the first open day (the day after the book's close date): a correction of a closed period
-- is booked in the open one (ledger_private.post() picks it, and hashes the date as requested: a replay of the key,
-- posted or refused, matches whatever closed since). An explicit date into a closed period is refused like any
-- entry's (LD214, recorded with the key).

BEGIN;

DROP FUNCTION ledger.reverse_entry(bigint, text, text, text);

SET LOCAL ROLE dualbook_owner;

CREATE FUNCTION ledger.reverse_entry(
    p_entry_id bigint,
    p_idempotency_key text,
    p_reason text DEFAULT NULL,
    p_book text DEFAULT 'default',
    p_effective_date date DEFAULT NULL,
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
SET standard_conforming_strings = on
SET lock_timeout = '2s'
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
                               p_effective_date, NULL, p_entry_id) AS r;
END
$$;
COMMENT ON FUNCTION ledger.reverse_entry(bigint, text, text, text, date) IS
    'Post the mirror image of an entry (all amounts negated) linked to it; at most once per entry; obeys limits. '
    'Idempotent by key like post_entry, with the same result row: status posted | replayed | refused (LD201-LD204, '
    'LD209 already_reversed, LD211, LD214 period_closed, recorded with the key). Effective date: p_effective_date, '
    'else the original''s if its period is open, else the first open day. '
    'Raised errors: LD101, LD205, LD208 unknown_entry, LD210, LD301.';

REVOKE ALL ON FUNCTION ledger.reverse_entry(bigint, text, text, text, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.reverse_entry(bigint, text, text, text, date) TO dualbook_app;

COMMIT;
