-- Revert dualbook:holds from pg
-- Drops the hold functions and tables, and zeroes the account's held_* counters (their columns belong to
-- function_post_entry), so post() and post_entries see no holds.

BEGIN;

-- The month-end report as function_reports wrote it (before it used the hold tables).
DROP FUNCTION ledger.month_end_report(date, date, text);
SET LOCAL ROLE dualbook_owner;
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

REVOKE ALL ON FUNCTION ledger.month_end_report(date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.month_end_report(date, date, text) TO dualbook_app, dualbook_reader;
RESET ROLE;

DROP FUNCTION ledger.pending_as_of(timestamptz, text);
DROP FUNCTION ledger.get_available(text, text);
DROP FUNCTION ledger.get_hold(bigint, text);
DROP FUNCTION ledger.expire_holds(text, integer);
DROP FUNCTION ledger.void_hold(bigint, text, text);
DROP FUNCTION ledger.capture_hold(bigint, text, bigint, text);
DROP FUNCTION ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text);
DROP FUNCTION ledger_private.raise_hold_resolved(bigint, text, text, timestamptz);
DROP FUNCTION ledger_private.raise_unknown_hold(bigint, text);
DROP FUNCTION ledger_private.adjust_held(bigint, integer, timestamptz);
DROP FUNCTION ledger_private.held_amounts(integer, bigint, text, bigint, bigint, timestamptz);
DROP FUNCTION ledger_private.outstanding_hold_legs(integer, bigint, timestamptz);
DROP TABLE ledger_private.hold_resolution;
DROP TABLE ledger_private.hold_leg;
DROP TABLE ledger_private.hold;
-- post() reads the counters (their columns belong to function_post_entry): with the holds gone, nothing is held
UPDATE ledger_private.account SET held_debit = 0, held_credit = 0, held_until = NULL
 WHERE held_debit <> 0 OR held_credit <> 0 OR held_until IS NOT NULL;

COMMIT;
