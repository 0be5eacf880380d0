-- Deploy dualbook:function_reports to pg
-- requires: function_close_period
-- requires: table_deferred_queue
-- The reporting API. Two times, defined once (docs/design.md §10): the effective date (the business date an entry
-- is for, chosen by the caller, may be backdated) and the recorded order (entry ids and recorded_at, the order the
-- ledger accepted entries). Reports by effective date sum the postings whatever order they arrived in; they never
-- use posting.balance_after, which follows recorded order.
-- Every report is STABLE and read-only (no writes, temporary tables or sequences) and needs no particular
-- isolation level, so it runs on a hot standby in REPEATABLE READ READ ONLY. A deferred account's legs count from
-- the moment their entry commits, queued or sequenced, as in ledger.get_balance().

BEGIN;

SET LOCAL ROLE dualbook_owner;

-- An account of a book by code: (account_id, type, currency), or LD201.
CREATE FUNCTION ledger_private.report_account(p_book_id integer, p_account text, p_book text,
    OUT account_id bigint, OUT type text, OUT currency text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    SELECT a.account_id, a.type, a.currency INTO report_account.account_id, report_account.type,
           report_account.currency
      FROM ledger_private.account AS a WHERE a.book_id = p_book_id AND a.code = p_account;
    IF report_account.account_id IS NULL THEN
        RAISE EXCEPTION 'unknown account %', coalesce(quote_literal(left(p_account, 200)), 'NULL')
            USING ERRCODE = 'LD201', DETAIL = json_build_object('account', left(p_account, 200), 'book', p_book)::text;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger_private.report_account(integer, text, text) IS
    'A report''s account: id, type and currency by code; LD201 unknown_account.';

-- Every account's debit-positive balance as of an effective date: the checkpoint of the last close on or before
-- the date, plus the postings dated after that close and up to the date.
CREATE FUNCTION ledger_private.balances_as_of(p_book_id integer, p_date date)
RETURNS TABLE (account_id bigint, balance numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
    WITH c AS (SELECT max(pc.through_date) AS through_date FROM ledger_private.period_close AS pc
                WHERE pc.book_id = p_book_id AND pc.through_date <= p_date)
    SELECT x.account_id, sum(x.amount)
      FROM (SELECT k.account_id, k.balance AS amount
              FROM ledger_private.account_checkpoint AS k, c
             WHERE k.book_id = p_book_id AND k.through_date = c.through_date
            UNION ALL
            SELECT p.account_id, p.amount
              FROM c, ledger_private.entry AS e
              JOIN ledger_private.posting AS p ON p.book_id = e.book_id AND p.entry_id = e.entry_id
             WHERE e.book_id = p_book_id AND e.effective_date > coalesce(c.through_date, '-infinity'::date)
               AND e.effective_date <= p_date) AS x
     GROUP BY x.account_id
$$;
COMMENT ON FUNCTION ledger_private.balances_as_of(integer, date) IS
    'Every account''s debit-positive balance as of an effective date, from the last checkpoint on or before it.';

CREATE FUNCTION ledger_private.parse_statement_cursor(p_cursor text, OUT effective_date date, OUT entry_id bigint,
    OUT leg smallint)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_parts text[] := regexp_match(p_cursor, '^(\d{4}-\d{2}-\d{2})\.(\d{1,18})\.(\d{1,4})$');
BEGIN
    IF v_parts IS NOT NULL AND v_parts[3]::integer <= 32767 THEN
        BEGIN
            effective_date := v_parts[1]::date;
            entry_id := v_parts[2]::bigint;
            leg := v_parts[3]::smallint;
            RETURN;
        EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
            NULL;
        END;
    END IF;
    RAISE EXCEPTION 'statement cursor % is not one this ledger returned', quote_literal(left(p_cursor, 100))
        USING ERRCODE = 'LD116', DETAIL = json_build_object('cursor', left(p_cursor, 100))::text,
              HINT = 'Pass the next_cursor of the previous page unchanged, or NULL for the first page.';
END
$$;
COMMENT ON FUNCTION ledger_private.parse_statement_cursor(text) IS
    'A statement cursor "YYYY-MM-DD.entry_id.leg" as its parts; LD116 invalid_cursor.';

CREATE FUNCTION ledger_private.raise_if_bad_range(p_from date, p_to date) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    IF p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'a report needs both dates'
            USING ERRCODE = 'LD101',
                  DETAIL = json_build_object('argument', CASE WHEN p_from IS NULL THEN 'from' ELSE 'to' END)::text;
    END IF;
    IF p_from > p_to OR p_from < '0001-01-02'::date OR p_to > '9999-12-31'::date THEN
        RAISE EXCEPTION 'invalid date range % .. %', p_from, p_to
            USING ERRCODE = 'LD115', DETAIL = json_build_object('from', p_from, 'to', p_to)::text,
                  HINT = 'The first date must not be after the last (both within 0001-01-02 .. 9999-12-31).';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger_private.raise_if_bad_range(date, date) IS
    'LD101 for a missing date, LD115 invalid_date_range for from > to or dates out of range.';

-- 1. Balance as of an effective date.
CREATE FUNCTION ledger.balance_as_of(
    p_account text,
    p_date date,
    p_book text DEFAULT 'default',
    OUT account text,
    OUT currency text,
    OUT type text,
    OUT as_of date,
    OUT balance bigint,
    OUT debit_balance bigint,
    OUT postings bigint
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_acc record;
BEGIN
    IF p_date IS NULL THEN
        RAISE EXCEPTION 'date must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'date')::text;
    END IF;
    v_acc := ledger_private.report_account(v_book_id, p_account, p_book);
    SELECT coalesce(sum(p.amount), 0)::bigint, count(*)
      INTO balance_as_of.debit_balance, balance_as_of.postings
      FROM ledger_private.posting AS p
      JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
     WHERE p.book_id = v_book_id AND p.account_id = v_acc.account_id AND e.effective_date <= p_date;
    account := p_account;
    currency := v_acc.currency;
    type := v_acc.type;
    as_of := p_date;
    balance := ledger_private.normal_balance(v_acc.type, debit_balance);
END
$$;
COMMENT ON FUNCTION ledger.balance_as_of(text, date, text) IS
    'An account''s normal balance (and debit-positive balance, posting count) of every posting dated up to and '
    'including p_date, whatever order they were recorded in. Errors: LD101, LD201, LD210.';

-- 2. Balance as recorded: up to an entry id, or up to a recorded time.
CREATE FUNCTION ledger.balance_as_recorded(
    p_account text,
    p_entry_id bigint DEFAULT NULL,
    p_recorded_at timestamptz DEFAULT NULL,
    p_book text DEFAULT 'default',
    OUT account text,
    OUT currency text,
    OUT type text,
    OUT through_entry_id bigint,
    OUT balance bigint,
    OUT debit_balance bigint,
    OUT postings bigint
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_acc record;
BEGIN
    IF (p_entry_id IS NULL) = (p_recorded_at IS NULL) THEN
        RAISE EXCEPTION 'give either an entry id or a recorded time'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'entry_id')::text;
    END IF;
    v_acc := ledger_private.report_account(v_book_id, p_account, p_book);
    IF p_entry_id IS NOT NULL THEN
        SELECT coalesce(sum(p.amount), 0)::bigint, count(*), max(p.entry_id)
          INTO balance_as_recorded.debit_balance, balance_as_recorded.postings, balance_as_recorded.through_entry_id
          FROM ledger_private.posting AS p
         WHERE p.book_id = v_book_id AND p.account_id = v_acc.account_id AND p.entry_id <= p_entry_id;
    ELSE
        SELECT coalesce(sum(p.amount), 0)::bigint, count(*), max(p.entry_id)
          INTO balance_as_recorded.debit_balance, balance_as_recorded.postings, balance_as_recorded.through_entry_id
          FROM ledger_private.posting AS p
          JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
         WHERE p.book_id = v_book_id AND p.account_id = v_acc.account_id AND e.recorded_at <= p_recorded_at;
    END IF;
    account := p_account;
    currency := v_acc.currency;
    type := v_acc.type;
    balance := ledger_private.normal_balance(v_acc.type, debit_balance);
END
$$;
COMMENT ON FUNCTION ledger.balance_as_recorded(text, bigint, timestamptz, text) IS
    'An account''s normal balance over the entries with id <= p_entry_id, or recorded at or before p_recorded_at '
    '(exactly one of the two), whatever their effective dates; through_entry_id = the last such entry on the '
    'account. Errors: LD101, LD201, LD210.';

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

-- 4. Trial balance per currency as of an effective date.
CREATE FUNCTION ledger.trial_balance_as_of(
    p_date date,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (currency text, debits numeric, credits numeric, net numeric, accounts bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
BEGIN
    IF p_date IS NULL THEN
        RAISE EXCEPTION 'date must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'date')::text;
    END IF;
    RETURN QUERY
    SELECT a.currency,
           coalesce(sum(b.balance) FILTER (WHERE b.balance > 0), 0),
           coalesce(-sum(b.balance) FILTER (WHERE b.balance < 0), 0),
           sum(b.balance),
           count(*)
      FROM ledger_private.balances_as_of(v_book_id, p_date) AS b
      JOIN ledger_private.account AS a ON a.book_id = v_book_id AND a.account_id = b.account_id
     GROUP BY a.currency
     ORDER BY a.currency;
END
$$;
COMMENT ON FUNCTION ledger.trial_balance_as_of(date, text) IS
    'Per currency, as of an effective date: total debit balances, total credit balances, net (0 in balanced '
    'books; numeric: totals need not fit 64 bits) and the number of accounts with postings. Errors: LD101, LD210.';

-- 5. Month-end report: per account, opening, debits, credits, closing over a period of effective dates.
CREATE FUNCTION ledger.month_end_report(
    p_from date,
    p_through date,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (account text, currency text, type text, opening numeric, debits numeric, credits numeric,
               closing numeric, final boolean)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_final boolean;
BEGIN
    PERFORM ledger_private.raise_if_bad_range(p_from, p_through);
    v_final := coalesce(p_through <= ledger_private.closed_through(v_book_id), false);
    RETURN QUERY
    SELECT a.code, a.currency, a.type,
           CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END * sum(x.opening),
           sum(x.debits), sum(x.credits),
           CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END
               * (sum(x.opening) + sum(x.debits) - sum(x.credits)),
           v_final
      FROM (SELECT o.account_id, o.balance AS opening, 0::numeric AS debits, 0::numeric AS credits
              FROM ledger_private.balances_as_of(v_book_id, p_from - 1) AS o
            UNION ALL
            SELECT p.account_id, 0, coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0),
                   coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)
              FROM ledger_private.entry AS e
              JOIN ledger_private.posting AS p ON p.book_id = e.book_id AND p.entry_id = e.entry_id
             WHERE e.book_id = v_book_id AND e.effective_date BETWEEN p_from AND p_through
             GROUP BY p.account_id) AS x
      JOIN ledger_private.account AS a ON a.book_id = v_book_id AND a.account_id = x.account_id
     GROUP BY a.account_id, a.code, a.currency, a.type
     ORDER BY a.currency, a.code;
END
$$;
COMMENT ON FUNCTION ledger.month_end_report(date, date, text) IS
    'Per account with postings dated up to p_through: opening normal balance (dated before p_from), debits and '
    'credits dated in the period, closing normal balance; final = the period is closed (the report can no longer '
    'change). Errors: LD101, LD115 invalid_date_range, LD210.';

REVOKE ALL ON FUNCTION ledger_private.report_account(integer, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.balances_as_of(integer, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.parse_statement_cursor(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_if_bad_range(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.balance_as_of(text, date, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.balance_as_recorded(text, bigint, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.statement(text, date, date, text, integer, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.trial_balance_as_of(date, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.month_end_report(date, date, text) FROM PUBLIC;
-- The application reads its own reports through its client; the reader runs them on the replica.
GRANT EXECUTE ON FUNCTION ledger.balance_as_of(text, date, text), ledger.balance_as_recorded(text, bigint, timestamptz, text),
    ledger.statement(text, date, date, text, integer, text), ledger.trial_balance_as_of(date, text),
    ledger.month_end_report(date, date, text) TO dualbook_app, dualbook_reader;

COMMIT;
