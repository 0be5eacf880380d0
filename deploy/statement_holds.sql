-- Deploy dualbook:statement_holds to pg
-- requires: holds
-- requires: hold_requests
-- Statements show holds. ledger.statement() keeps its arguments, its lines and its pages, and gains:
--   * on every line, hold_id: the hold whose capture posted the line's entry (NULL for any other entry), from the
--     hold's resolution (kind captured; its key is the key of the entry the capture posted), never from metadata;
--   * holds (first page only): the account's holds that matter to the period, with their state at its end;
--   * pending_debit, pending_credit (every page, like the balances): the account's holds outstanding at the
--     period's end, by ledger_private.outstanding_hold_legs(), the rule of pending_as_of and month_end_report.
-- The period's end is midnight UTC after p_to, or now if that is earlier (as in month_end_report); its start is
-- midnight UTC on p_from. Times follow outstanding_hold_legs(): what happened at an instant counts at it.

BEGIN;

SET LOCAL ROLE dualbook_owner;

DROP FUNCTION ledger.statement(text, date, date, text, integer, text);

CREATE FUNCTION ledger.statement(
    p_account text,
    p_from date,
    p_to date,
    p_cursor text DEFAULT NULL,
    p_limit integer DEFAULT 100,
    p_book text DEFAULT 'default',
    OUT account text,
    OUT currency text,
    OUT type text,
    OUT date_from date,
    OUT date_to date,
    OUT opening_balance bigint,
    OUT closing_balance bigint,
    OUT lines jsonb,
    OUT next_cursor text,
    OUT holds jsonb,
    OUT pending_debit bigint,
    OUT pending_credit bigint
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_acc record;
    v_cur_date date;
    v_cur_entry bigint;
    v_cur_leg smallint;
    v_page_start numeric;
    v_n integer;
    v_start timestamptz;
    v_end timestamptz;
BEGIN
    PERFORM ledger_private.raise_if_bad_range(p_from, p_to);
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'a statement page has 1 to 1000 lines, not %', coalesce(p_limit::text, 'NULL')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'limit')::text;
    END IF;
    IF p_cursor IS NOT NULL THEN
        SELECT c.effective_date, c.entry_id, c.leg INTO v_cur_date, v_cur_entry, v_cur_leg
          FROM ledger_private.parse_statement_cursor(p_cursor) AS c;
        IF v_cur_date NOT BETWEEN p_from AND p_to THEN
            RAISE EXCEPTION 'statement cursor % lies outside % .. %', quote_literal(left(p_cursor, 100)), p_from, p_to
                USING ERRCODE = 'LD116', DETAIL = json_build_object('cursor', left(p_cursor, 100))::text,
                      HINT = 'A cursor belongs to the statement (account and dates) that returned it.';
        END IF;
    END IF;
    v_acc := ledger_private.report_account(v_book_id, p_account, p_book);

    -- One pass over the account's postings dated up to p_to: the opening, the closing and the balance before the
    -- page (everything dated before p_from, and the statement's lines up to and including the cursor).
    SELECT coalesce(sum(p.amount) FILTER (WHERE e.effective_date < p_from), 0),
           coalesce(sum(p.amount), 0),
           coalesce(sum(p.amount) FILTER (WHERE e.effective_date < p_from
                                             OR (e.effective_date, p.entry_id, p.leg)
                                                <= (v_cur_date, v_cur_entry, v_cur_leg)), 0)
      INTO opening_balance, closing_balance, v_page_start
      FROM ledger_private.posting AS p
      JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
     WHERE p.book_id = v_book_id AND p.account_id = v_acc.account_id AND e.effective_date <= p_to;

    -- The page's lines; a capture's entry has the key of its hold's resolution (unique per book).
    SELECT coalesce(jsonb_agg(jsonb_build_object(
                'effective_date', l.effective_date, 'entry_id', l.entry_id, 'leg', l.leg,
                'description', l.description, 'amount', l.amount,
                'running_balance', ledger_private.normal_balance(v_acc.type, (v_page_start + l.running)::bigint),
                'recorded_at', l.recorded_at, 'reverses_entry_id', l.reverses_entry_id,
                -- one probe of the resolutions' key index per line (a join could scan every resolution)
                'hold_id', (SELECT r.hold_id FROM ledger_private.hold_resolution AS r
                             WHERE r.book_id = v_book_id AND r.idempotency_key = l.idempotency_key
                               AND r.idempotency_key IS NOT NULL AND r.kind = 'captured'))
              ORDER BY l.effective_date, l.entry_id, l.leg) FILTER (WHERE l.n <= p_limit), '[]'::jsonb),
           count(*),
           max(l.effective_date::text || '.' || l.entry_id || '.' || l.leg) FILTER (WHERE l.n = p_limit)
      INTO lines, v_n, next_cursor
      FROM (SELECT q.*, sum(q.amount) OVER w AS running, row_number() OVER w AS n
              FROM (SELECT e.effective_date, p.entry_id, p.leg, e.description, p.amount, e.recorded_at,
                           e.reverses_entry_id, e.idempotency_key
                      FROM ledger_private.posting AS p
                      JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
                     WHERE p.book_id = v_book_id AND p.account_id = v_acc.account_id
                       AND e.effective_date BETWEEN p_from AND p_to
                       AND (v_cur_entry IS NULL
                            OR (e.effective_date, p.entry_id, p.leg)
                               > (v_cur_date, v_cur_entry, v_cur_leg))
                     ORDER BY e.effective_date, p.entry_id, p.leg
                     LIMIT p_limit + 1) AS q
            WINDOW w AS (ORDER BY q.effective_date, q.entry_id, q.leg)) AS l;
    IF v_n <= p_limit THEN
        next_cursor := NULL;  -- the last page
    END IF;

    -- Holds. The period's end and start, as instants.
    v_end := least(now(), (p_to + 1)::timestamp AT TIME ZONE 'UTC');
    v_start := p_from::timestamp AT TIME ZONE 'UTC';
    SELECT coalesce(sum(greatest(o.amount, 0)), 0), coalesce(sum(greatest(-o.amount, 0)), 0)
      INTO pending_debit, pending_credit
      FROM ledger_private.outstanding_hold_legs(v_book_id, v_acc.account_id, v_end) AS o;
    IF p_cursor IS NULL THEN
        -- The holds with a leg on the account placed by the end and not resolved (captured, voided, or expired:
        -- at expires_at, swept or not) by the start; each in its state at the end: pending (outstanding then),
        -- else its resolution by then, else expired at expires_at.
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'hold_id', h.hold_id, 'idempotency_key', h.idempotency_key, 'description', h.description,
                    'effective_date', h.effective_date, 'recorded_at', h.recorded_at, 'expires_at', h.expires_at,
                    'amount', x.amount, 'status', s.status, 'resolved_at', s.resolved_at,
                    'entry_id', c.entry_id, 'captured_amount', c.amount)
                  ORDER BY h.hold_id), '[]'::jsonb)
          INTO holds
          FROM (SELECT l.hold_id, sum(l.amount)::bigint AS amount
                  FROM ledger_private.hold_leg AS l
                 WHERE l.book_id = v_book_id AND l.account_id = v_acc.account_id
                 GROUP BY l.hold_id) AS x
          JOIN ledger_private.hold AS h ON h.hold_id = x.hold_id
          LEFT JOIN ledger_private.hold_resolution AS r ON r.hold_id = x.hold_id
          LEFT JOIN (SELECT DISTINCT o.hold_id
                       FROM ledger_private.outstanding_hold_legs(v_book_id, v_acc.account_id, v_end) AS o) AS o
            ON o.hold_id = x.hold_id
          CROSS JOIN LATERAL (
                SELECT CASE WHEN o.hold_id IS NOT NULL THEN 'pending'
                            WHEN r.resolved_at <= v_end THEN r.kind
                            ELSE 'expired' END AS status,
                       CASE WHEN o.hold_id IS NOT NULL THEN NULL
                            WHEN r.resolved_at <= v_end THEN r.resolved_at
                            ELSE h.expires_at END AS resolved_at) AS s
          -- what the capture posted on this account (its entry has the resolution's key)
          LEFT JOIN LATERAL (
                SELECT e.entry_id, sum(p.amount)::bigint AS amount
                  FROM ledger_private.entry AS e
                  JOIN ledger_private.posting AS p
                    ON p.book_id = e.book_id AND p.entry_id = e.entry_id AND p.account_id = v_acc.account_id
                 WHERE s.status = 'captured' AND e.book_id = v_book_id AND e.idempotency_key = r.idempotency_key
                 GROUP BY e.entry_id) AS c ON true
         WHERE h.recorded_at <= v_end
           AND (o.hold_id IS NOT NULL
                OR coalesce(least(r.resolved_at, h.expires_at), 'infinity'::timestamptz) > v_start);
    END IF;
    account := p_account;
    currency := v_acc.currency;
    type := v_acc.type;
    date_from := p_from;
    date_to := p_to;
    opening_balance := ledger_private.normal_balance(v_acc.type, opening_balance);
    closing_balance := ledger_private.normal_balance(v_acc.type, closing_balance);
END
$$;
COMMENT ON FUNCTION ledger.statement(text, date, date, text, integer, text) IS
    'An account''s statement between two effective dates (inclusive): opening balance (dated before p_from), one '
    'page of at most p_limit lines in (effective_date, entry_id, leg) order with amount (debit-positive), '
    'running normal balance and hold_id (the hold a capture posted), closing balance (dated up to p_to); '
    'next_cursor is NULL on the last page, else the p_cursor of the next. holds (first page only, else NULL): the '
    'account''s holds placed by the period''s end (midnight UTC after p_to, or now) and not resolved by its start, '
    'each with its amount here and its state at the end; pending_debit, pending_credit: its holds outstanding at '
    'the end. Errors: LD101, LD115 invalid_date_range, LD116 invalid_cursor, LD201, LD210.';

REVOKE ALL ON FUNCTION ledger.statement(text, date, date, text, integer, text) FROM PUBLIC;
-- The application reads its own reports through its client; the reader runs them on the replica.
GRANT EXECUTE ON FUNCTION ledger.statement(text, date, date, text, integer, text) TO dualbook_app, dualbook_reader;

COMMIT;
