-- Revert dualbook:view_reporting from pg: back to the v0.1.0 views (the accounts view loses columns, so the
-- views are dropped and re-created).

BEGIN;

-- The v0.1.0 functions know nothing of deferred accounts: once one exists, going back would misstate balances.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_private.account WHERE deferred) THEN
        RAISE EXCEPTION 'deferred accounts exist: the v0.1.0 functions cannot serve them, refusing to revert';
    END IF;
END
$$;

DROP VIEW ledger.accounts;
DROP VIEW ledger.postings;
DROP VIEW ledger.trial_balance;
DROP VIEW ledger.entries;
DROP VIEW ledger.currencies;
DROP VIEW ledger.books;


CREATE VIEW ledger.books AS
    SELECT b.book_id, b.code, b.name, b.created_at FROM ledger_private.book AS b;

CREATE VIEW ledger.currencies AS
    SELECT c.code, c.exponent, c.name, c.iso4217, c.created_at FROM ledger_private.currency AS c;

CREATE VIEW ledger.accounts AS
    SELECT b.code AS book, a.account_id, a.code, a.currency, a.type,
           CASE WHEN a.type IN ('asset', 'expense') THEN 'debit' ELSE 'credit' END AS normal_side,
           a.status, ledger_private.normal_balance(a.type, a.balance) AS balance, a.balance AS debit_balance,
           a.seq AS postings, a.lower_limit, a.upper_limit, a.metadata, a.created_at, a.closed_at
      FROM ledger_private.account AS a
      JOIN ledger_private.book AS b ON b.book_id = a.book_id;
COMMENT ON VIEW ledger.accounts IS
    'Accounts with their normal balance (balance) and debit-positive balance (debit_balance), in minor units.';

CREATE VIEW ledger.entries AS
    SELECT b.code AS book, e.entry_id, e.idempotency_key, e.description, e.metadata, e.effective_date,
           e.recorded_at, e.reverses_entry_id
      FROM ledger_private.entry AS e
      JOIN ledger_private.book AS b ON b.book_id = e.book_id;

CREATE VIEW ledger.postings AS
    SELECT b.code AS book, p.entry_id, p.leg, a.code AS account, p.amount, p.currency, p.account_seq,
           ledger_private.normal_balance(a.type, p.balance_after) AS balance_after, e.effective_date, e.recorded_at
      FROM ledger_private.posting AS p
      JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
      JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
      JOIN ledger_private.book AS b ON b.book_id = p.book_id;
COMMENT ON VIEW ledger.postings IS
    'Every leg: amount debit-positive; balance_after = the account''s normal balance after it (a statement).';

CREATE VIEW ledger.trial_balance AS
    SELECT b.code AS book, a.currency,
           coalesce(sum(a.balance) FILTER (WHERE a.balance > 0), 0) AS debits,
           coalesce(-sum(a.balance) FILTER (WHERE a.balance < 0), 0) AS credits,
           sum(a.balance) AS net,
           count(*) AS accounts
      FROM ledger_private.account AS a
      JOIN ledger_private.book AS b ON b.book_id = a.book_id
     GROUP BY b.code, a.currency;
COMMENT ON VIEW ledger.trial_balance IS
    'Per book and currency: total debit balances, total credit balances and net (always 0 in balanced books).';

CREATE OR REPLACE FUNCTION ledger.books_check()
RETURNS TABLE (check_name text, book text, subject text, detail text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- 1. per book and currency, all postings sum to zero
    SELECT 'currency_sum', b.code, p.currency, 'postings sum to ' || sum(p.amount)
      FROM ledger_private.posting AS p JOIN ledger_private.book AS b USING (book_id)
     GROUP BY b.code, p.currency HAVING sum(p.amount) <> 0
    UNION ALL
    -- 2. every entry balances per currency and has at least two legs
    SELECT 'entry_balanced', b.code, 'entry ' || e.entry_id,
           coalesce('legs in ' || x.currency || ' sum to ' || x.total, 'has ' || coalesce(n.legs, 0) || ' legs')
      FROM ledger_private.entry AS e
      JOIN ledger_private.book AS b USING (book_id)
      LEFT JOIN LATERAL (SELECT p.currency, sum(p.amount) AS total FROM ledger_private.posting AS p
                          WHERE p.book_id = e.book_id AND p.entry_id = e.entry_id
                          GROUP BY p.currency HAVING sum(p.amount) <> 0 LIMIT 1) AS x ON true
      LEFT JOIN LATERAL (SELECT count(*) AS legs FROM ledger_private.posting AS p
                          WHERE p.book_id = e.book_id AND p.entry_id = e.entry_id) AS n ON true
     WHERE x.currency IS NOT NULL OR n.legs < 2
    UNION ALL
    -- 3. every posting belongs to an existing entry and account, in the account's currency
    SELECT 'posting_refs', b.code, 'entry ' || p.entry_id || ' leg ' || p.leg,
           CASE WHEN e.entry_id IS NULL THEN 'entry does not exist'
                WHEN a.account_id IS NULL THEN 'account ' || p.account_id || ' does not exist'
                ELSE 'currency ' || p.currency || ' but account is in ' || a.currency END
      FROM ledger_private.posting AS p
      JOIN ledger_private.book AS b USING (book_id)
      LEFT JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
      LEFT JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
     WHERE e.entry_id IS NULL OR a.account_id IS NULL OR a.currency <> p.currency
    UNION ALL
    -- 4. every account's maintained balance and sequence equal what its postings say; no gaps
    SELECT 'account_balance', b.code, a.code,
           format('balance %s, seq %s; postings sum to %s, count %s, seq %s..%s', a.balance, a.seq,
                  coalesce(s.total, 0), coalesce(s.n, 0), s.min_seq, s.max_seq)
      FROM ledger_private.account AS a
      JOIN ledger_private.book AS b USING (book_id)
      LEFT JOIN LATERAL (SELECT sum(p.amount) AS total, count(*) AS n, min(p.account_seq) AS min_seq,
                                max(p.account_seq) AS max_seq
                           FROM ledger_private.posting AS p
                          WHERE p.book_id = a.book_id AND p.account_id = a.account_id) AS s ON true
     WHERE a.balance <> coalesce(s.total, 0) OR a.seq <> coalesce(s.n, 0)
        OR (s.n > 0 AND (s.min_seq <> 1 OR s.max_seq <> s.n))
    UNION ALL
    -- 5. every running balance is the previous one plus the amount
    SELECT 'running_balance', b.code, a.code || ' seq ' || r.account_seq,
           format('balance_after %s, expected %s', r.balance_after, r.expected)
      FROM (SELECT p.book_id, p.account_id, p.account_seq, p.balance_after,
                   coalesce(lag(p.balance_after) OVER w, 0) + p.amount AS expected
              FROM ledger_private.posting AS p
            WINDOW w AS (PARTITION BY p.book_id, p.account_id ORDER BY p.account_seq)) AS r
      JOIN ledger_private.account AS a ON a.book_id = r.book_id AND a.account_id = r.account_id
      JOIN ledger_private.book AS b ON b.book_id = r.book_id
     WHERE r.balance_after <> r.expected
    UNION ALL
    -- 6. every limit holds
    SELECT 'limits', b.code, a.code,
           format('normal balance %s outside [%s, %s]', ledger_private.normal_balance(a.type, a.balance),
                  coalesce(a.lower_limit::text, '-inf'), coalesce(a.upper_limit::text, 'inf'))
      FROM ledger_private.account AS a JOIN ledger_private.book AS b USING (book_id)
     WHERE ledger_private.normal_balance(a.type, a.balance) < a.lower_limit
        OR ledger_private.normal_balance(a.type, a.balance) > a.upper_limit
    UNION ALL
    -- 7. each idempotency key maps to one entry; each entry is reversed at most once, by its mirror image
    SELECT 'idempotency', b.code, e.idempotency_key, count(*) || ' entries'
      FROM ledger_private.entry AS e JOIN ledger_private.book AS b USING (book_id)
     GROUP BY b.code, e.idempotency_key HAVING count(*) > 1
    UNION ALL
    SELECT 'reversal', b.code, 'entry ' || r.entry_id,
           'reverses entry ' || r.reverses_entry_id || ' but its legs are not the mirror image'
      FROM ledger_private.entry AS r
      JOIN ledger_private.book AS b USING (book_id)
     WHERE r.reverses_entry_id IS NOT NULL
       AND EXISTS (
           (SELECT p.leg, p.account_id, -p.amount FROM ledger_private.posting AS p
             WHERE p.book_id = r.book_id AND p.entry_id = r.reverses_entry_id
            EXCEPT
            SELECT q.leg, q.account_id, q.amount FROM ledger_private.posting AS q
             WHERE q.book_id = r.book_id AND q.entry_id = r.entry_id)
           UNION ALL
           (SELECT q.leg, q.account_id, q.amount FROM ledger_private.posting AS q
             WHERE q.book_id = r.book_id AND q.entry_id = r.entry_id
            EXCEPT
            SELECT p.leg, p.account_id, -p.amount FROM ledger_private.posting AS p
             WHERE p.book_id = r.book_id AND p.entry_id = r.reverses_entry_id));
$$;
COMMENT ON FUNCTION ledger.books_check() IS
    'Recomputes every invariant from the raw journal; returns one row per violation (no rows = the books balance). '
    'Checks: currency_sum, entry_balanced, posting_refs, account_balance, running_balance, limits, idempotency, '
    'reversal. Reads everything: run it on the replica.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger.books_check() FROM PUBLIC;

COMMIT;
