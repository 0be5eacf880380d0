-- Deploy dualbook:function_close_period to pg
-- requires: table_period_close
-- requires: error_catalog
-- requires: function_post_entries
-- ledger.close_period(): closes a book through a date (monotonic), sets book.closed_through and stores every
-- account's checkpoint. The rule itself lives in the posting core, ledger_private.post() (post_entry,
-- reverse_entry, the per-entry path of post_entries): an entry dated on or before book.closed_through is refused
-- with LD214, recorded with its key like LD203; the set-based batch path declines such a batch to post().

BEGIN;

SET LOCAL ROLE dualbook_owner;

-- The close date of a book (NULL: nothing closed).
CREATE FUNCTION ledger_private.closed_through(p_book_id integer) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
    SELECT b.closed_through FROM ledger_private.book AS b WHERE b.book_id = p_book_id
$$;
COMMENT ON FUNCTION ledger_private.closed_through(integer) IS
    'The date a book is closed through (every effective date up to it is locked), or NULL.';

CREATE FUNCTION ledger.close_period(
    p_through_date date,
    p_book text DEFAULT 'default',
    OUT book text,
    OUT through_date date,
    OUT closed_at timestamptz,
    OUT accounts integer,
    OUT created boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer;
    v_prev date;
    v_today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.close_period');
    v_book_id := ledger_private.book_id(p_book);
    IF p_through_date IS NULL THEN
        RAISE EXCEPTION 'through date must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'through_date')::text;
    END IF;
    IF p_through_date >= v_today THEN
        RAISE EXCEPTION 'a period can only be closed through a date before today (%), not %', v_today, p_through_date
            USING ERRCODE = 'LD117',
                  DETAIL = json_build_object('through_date', p_through_date, 'today', v_today)::text,
                  HINT = 'Close a period once it has ended (UTC).';
    END IF;
    v_prev := ledger_private.closed_through(v_book_id);
    book := p_book;
    IF v_prev = p_through_date THEN
        SELECT c.through_date, c.closed_at, c.accounts INTO close_period.through_date, close_period.closed_at,
               close_period.accounts
          FROM ledger_private.period_close AS c WHERE c.book_id = v_book_id AND c.through_date = v_prev;
        created := false;
        RETURN;
    END IF;
    IF v_prev > p_through_date THEN
        RAISE EXCEPTION 'book % is already closed through %, a later date than %', quote_literal(p_book), v_prev,
            p_through_date
            USING ERRCODE = 'LD215',
                  DETAIL = json_build_object('book', p_book, 'closed_through', v_prev,
                                             'through_date', p_through_date)::text,
                  HINT = 'Closing only moves forward; a closed period is final.';
    END IF;
    -- Every account with a posting dated up to the close: the previous checkpoint plus what is dated since.
    INSERT INTO ledger_private.account_checkpoint AS k (book_id, account_id, through_date, balance, debits, credits)
    SELECT v_book_id, x.account_id, p_through_date, sum(x.balance), sum(x.debits), sum(x.credits)
      FROM (SELECT c.account_id, c.balance, 0::numeric AS debits, 0::numeric AS credits
              FROM ledger_private.account_checkpoint AS c
             WHERE c.book_id = v_book_id AND c.through_date = v_prev
            UNION ALL
            SELECT p.account_id, sum(p.amount), coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0),
                   coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)
              FROM ledger_private.entry AS e
              JOIN ledger_private.posting AS p ON p.book_id = e.book_id AND p.entry_id = e.entry_id
             WHERE e.book_id = v_book_id AND e.effective_date > coalesce(v_prev, '-infinity'::date)
               AND e.effective_date <= p_through_date
             GROUP BY p.account_id) AS x
     GROUP BY x.account_id;
    GET DIAGNOSTICS accounts = ROW_COUNT;
    INSERT INTO ledger_private.period_close AS c (book_id, through_date, accounts)
    VALUES (v_book_id, p_through_date, close_period.accounts)
    RETURNING c.through_date, c.closed_at INTO close_period.through_date, close_period.closed_at;
    UPDATE ledger_private.book AS b SET closed_through = p_through_date WHERE b.book_id = v_book_id;
    created := true;
END
$$;
COMMENT ON FUNCTION ledger.close_period(date, text) IS
    'Close a book through a date before today (UTC): every effective date up to it is locked, and entries and '
    'reversals dated into it are refused (LD214). Stores each account''s balance checkpoint. Monotonic: the '
    'current close date again is a no-op (created false), an earlier one LD215. SERIALIZABLE (LD301). '
    'Errors: LD101, LD117 period_not_ended, LD210, LD215 close_not_monotonic, LD301.';

-- The book's close date, for reports and callers (NULL: nothing closed).
CREATE FUNCTION ledger.closed_through(p_book text DEFAULT 'default') RETURNS date
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    RETURN ledger_private.closed_through(ledger_private.book_id(p_book));
END
$$;
COMMENT ON FUNCTION ledger.closed_through(text) IS
    'The date the book is closed through (NULL: no period closed). Errors: LD101, LD210.';

REVOKE ALL ON FUNCTION ledger_private.closed_through(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.close_period(date, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.closed_through(text) FROM PUBLIC;
-- The application closes periods (the service exposes it to administrators only); docs/security.md.
GRANT EXECUTE ON FUNCTION ledger.close_period(date, text) TO dualbook_app;
GRANT EXECUTE ON FUNCTION ledger.closed_through(text) TO dualbook_app, dualbook_reader, dualbook_auditor;

COMMIT;
