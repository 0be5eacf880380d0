-- Revert dualbook:statement_holds from pg
-- ledger.statement() as the change function_reports defined it (no holds, no hold_id on lines).

BEGIN;

SET LOCAL ROLE dualbook_owner;

DROP FUNCTION ledger.statement(text, date, date, text, integer, text);

-- 3. Statement: opening balance, lines in effective-date order with running balances, closing balance; keyset pages.
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
    OUT next_cursor text
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

    SELECT coalesce(jsonb_agg(jsonb_build_object(
                'effective_date', l.effective_date, 'entry_id', l.entry_id, 'leg', l.leg,
                'description', l.description, 'amount', l.amount,
                'running_balance', ledger_private.normal_balance(v_acc.type, (v_page_start + l.running)::bigint),
                'recorded_at', l.recorded_at, 'reverses_entry_id', l.reverses_entry_id)
              ORDER BY l.effective_date, l.entry_id, l.leg) FILTER (WHERE l.n <= p_limit), '[]'::jsonb),
           count(*),
           max(l.effective_date::text || '.' || l.entry_id || '.' || l.leg) FILTER (WHERE l.n = p_limit)
      INTO lines, v_n, next_cursor
      FROM (SELECT q.*, sum(q.amount) OVER w AS running, row_number() OVER w AS n
              FROM (SELECT e.effective_date, p.entry_id, p.leg, e.description, p.amount, e.recorded_at,
                           e.reverses_entry_id
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
    'page of at most p_limit lines in (effective_date, entry_id, leg) order with amount (debit-positive) and '
    'running normal balance, closing balance (dated up to p_to); next_cursor is NULL on the last page, else the '
    'p_cursor of the next. Errors: LD101, LD115 invalid_date_range, LD116 invalid_cursor, LD201, LD210.';

REVOKE ALL ON FUNCTION ledger.statement(text, date, date, text, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.statement(text, date, date, text, integer, text) TO dualbook_app, dualbook_reader;

COMMIT;
