-- Revert dualbook:function_month_end_report_held from pg
-- ledger.month_end_report() as the change holds defined it (accounts with a posting dated up to p_through only).

BEGIN;

SET LOCAL ROLE dualbook_owner;

-- The month-end report with the pending amounts at the period's end, rows for the accounts with postings only.
CREATE OR REPLACE FUNCTION ledger.month_end_report(
    p_from date,
    p_through date,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (account text, currency text, type text, opening numeric, debits numeric, credits numeric,
               closing numeric, final boolean, pending_debit numeric, pending_credit numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_final boolean;
    -- the period's end (midnight UTC after p_through), or now for a period that has not ended
    v_end timestamptz := least(now(), (p_through + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
    PERFORM ledger_private.raise_if_bad_range(p_from, p_through);
    v_final := coalesce(p_through <= ledger_private.closed_through(v_book_id), false);
    RETURN QUERY
    SELECT a.code, a.currency, a.type,
           CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END * sum(x.opening),
           sum(x.debits), sum(x.credits),
           CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END
               * (sum(x.opening) + sum(x.debits) - sum(x.credits)),
           v_final,
           coalesce(max(h.debit), 0), coalesce(max(h.credit), 0)
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
      -- the account's holds outstanding at the period's end, per side
      LEFT JOIN (SELECT l.account_id, sum(greatest(l.amount, 0)) AS debit, sum(greatest(-l.amount, 0)) AS credit
                   FROM ledger_private.outstanding_hold_legs(v_book_id, NULL, v_end) AS l
                  GROUP BY l.account_id) AS h ON h.account_id = a.account_id
     GROUP BY a.account_id, a.code, a.currency, a.type
     ORDER BY a.currency, a.code;
END
$$;
COMMENT ON FUNCTION ledger.month_end_report(date, date, text) IS
    'Per account with postings dated up to p_through: opening normal balance (dated before p_from), debits and '
    'credits dated in the period, closing normal balance; final = the period is closed (the report can no longer '
    'change); pending_debit and pending_credit: the legs of its holds outstanding at the period''s end (midnight '
    'UTC after p_through, or now if earlier). Errors: LD101, LD115 invalid_date_range, LD210.';

REVOKE ALL ON FUNCTION ledger.month_end_report(date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.month_end_report(date, date, text) TO dualbook_app, dualbook_reader;

COMMIT;
