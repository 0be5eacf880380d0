-- Deploy dualbook:view_reporting to pg
-- requires: view_reporting@v0.1.0
-- requires: table_deferred_queue
-- Reworked for deferred accounts: balances and posting counts include queued legs; a leg's sequence and running
-- balance come from deferred_sequence once sequenced; books_check proves queue and sequence consistent too.
-- The read API for reports (run them on the replica): views over the private tables, and books_check(),
-- which recomputes every invariant from the raw postings. Views run with their owner's rights, so a reporting
-- role needs SELECT on the views only.

BEGIN;

CREATE OR REPLACE VIEW ledger.books AS
    SELECT b.book_id, b.code, b.name, b.created_at FROM ledger_private.book AS b;

CREATE OR REPLACE VIEW ledger.currencies AS
    SELECT c.code, c.exponent, c.name, c.iso4217, c.created_at FROM ledger_private.currency AS c;

CREATE OR REPLACE VIEW ledger.accounts AS
    SELECT b.code AS book, a.account_id, a.code, a.currency, a.type,
           CASE WHEN a.type IN ('asset', 'expense') THEN 'debit' ELSE 'credit' END AS normal_side,
           a.status, ledger_private.normal_balance(a.type, ledger_private.int64_or_null(a.balance + coalesce(q.total, 0)))
               AS balance,
           ledger_private.int64_or_null(a.balance + coalesce(q.total, 0)) AS debit_balance,
           a.seq + coalesce(q.n, 0) AS postings, a.lower_limit, a.upper_limit, a.metadata, a.created_at, a.closed_at,
           a.deferred, coalesce(q.n, 0) AS queued
      FROM ledger_private.account AS a
      JOIN ledger_private.book AS b ON b.book_id = a.book_id
      LEFT JOIN LATERAL (SELECT sum(d.amount) AS total, count(*) AS n FROM ledger_private.deferred_leg AS d
                          WHERE a.deferred AND d.book_id = a.book_id AND d.account_id = a.account_id) AS q ON true;
COMMENT ON VIEW ledger.accounts IS
    'Accounts with their normal balance (balance) and debit-positive balance (debit_balance), in minor units; '
    'for a deferred account both include its queued legs (queued = how many), NULL if outside the 64-bit range.';

CREATE OR REPLACE VIEW ledger.entries AS
    SELECT b.code AS book, e.entry_id, e.idempotency_key, e.description, e.metadata, e.effective_date,
           e.recorded_at, e.reverses_entry_id
      FROM ledger_private.entry AS e
      JOIN ledger_private.book AS b ON b.book_id = e.book_id;

CREATE OR REPLACE VIEW ledger.postings AS
    SELECT b.code AS book, p.entry_id, p.leg, a.code AS account, p.amount, p.currency,
           coalesce(p.account_seq, s.account_seq) AS account_seq,
           ledger_private.normal_balance(a.type, coalesce(p.balance_after, s.balance_after)) AS balance_after,
           e.effective_date, e.recorded_at
      FROM ledger_private.posting AS p
      JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
      LEFT JOIN ledger_private.deferred_sequence AS s
             ON p.account_seq IS NULL AND s.book_id = p.book_id AND s.entry_id = p.entry_id AND s.leg = p.leg
      JOIN ledger_private.entry AS e ON e.book_id = p.book_id AND e.entry_id = p.entry_id
      JOIN ledger_private.book AS b ON b.book_id = p.book_id;
COMMENT ON VIEW ledger.postings IS
    'Every leg: amount debit-positive; balance_after = the account''s normal balance after it (a statement); '
    'null account_seq/balance_after = a deferred account''s leg still queued.';

CREATE OR REPLACE VIEW ledger.trial_balance AS
    SELECT x.book, x.currency,
           coalesce(sum(x.balance) FILTER (WHERE x.balance > 0), 0) AS debits,
           coalesce(-sum(x.balance) FILTER (WHERE x.balance < 0), 0) AS credits,
           sum(x.balance) AS net,
           count(*) AS accounts
      FROM (SELECT b.code AS book, a.currency,
                   a.balance + coalesce((SELECT sum(d.amount) FROM ledger_private.deferred_leg AS d
                                          WHERE a.deferred AND d.book_id = a.book_id
                                            AND d.account_id = a.account_id), 0) AS balance
              FROM ledger_private.account AS a
              JOIN ledger_private.book AS b ON b.book_id = a.book_id) AS x
     GROUP BY x.book, x.currency;
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
    -- 4. every account's maintained balance (+ queued legs) and sequence equal what its postings say; the
    --    sequence numbers (inline, or assigned by the sequencer for a deferred account) run 1..seq without gaps
    SELECT 'account_balance', b.code, a.code,
           format('balance %s + queued %s, seq %s + queued %s; postings sum to %s, count %s; sequenced %s, seq %s..%s',
                  a.balance, coalesce(q.total, 0), a.seq, coalesce(q.n, 0), coalesce(s.total, 0), coalesce(s.n, 0),
                  coalesce(n.n, 0), n.min_seq, n.max_seq)
      FROM ledger_private.account AS a
      JOIN ledger_private.book AS b USING (book_id)
      LEFT JOIN LATERAL (SELECT sum(p.amount) AS total, count(*) AS n
                           FROM ledger_private.posting AS p
                          WHERE p.book_id = a.book_id AND p.account_id = a.account_id) AS s ON true
      LEFT JOIN LATERAL (SELECT sum(d.amount) AS total, count(*) AS n
                           FROM ledger_private.deferred_leg AS d
                          WHERE d.book_id = a.book_id AND d.account_id = a.account_id) AS q ON true
      LEFT JOIN LATERAL (SELECT count(*) AS n, min(x.seq) AS min_seq, max(x.seq) AS max_seq
                           FROM (SELECT p.account_seq AS seq FROM ledger_private.posting AS p
                                  WHERE p.book_id = a.book_id AND p.account_id = a.account_id
                                    AND p.account_seq IS NOT NULL
                                 UNION ALL
                                 SELECT ds.account_seq FROM ledger_private.deferred_sequence AS ds
                                  WHERE ds.book_id = a.book_id AND ds.account_id = a.account_id) AS x) AS n ON true
     WHERE a.balance + coalesce(q.total, 0) <> coalesce(s.total, 0)
        OR a.seq + coalesce(q.n, 0) <> coalesce(s.n, 0)
        OR coalesce(n.n, 0) <> a.seq
        OR (n.n > 0 AND (n.min_seq <> 1 OR n.max_seq <> n.n))
        OR (NOT a.deferred AND coalesce(q.n, 0) > 0)
    UNION ALL
    -- 5. every running balance is the previous one plus the amount
    SELECT 'running_balance', b.code, a.code || ' seq ' || r.account_seq,
           format('balance_after %s, expected %s', r.balance_after, r.expected)
      FROM (SELECT x.book_id, x.account_id, x.account_seq, x.balance_after,
                   -- numeric: tampered data must be reported, not overflow the check
                   coalesce(lag(x.balance_after::numeric) OVER w, 0) + x.amount AS expected
              FROM (SELECT p.book_id, p.account_id, coalesce(p.account_seq, s.account_seq) AS account_seq,
                           coalesce(p.balance_after, s.balance_after) AS balance_after, p.amount
                      FROM ledger_private.posting AS p
                      LEFT JOIN ledger_private.deferred_sequence AS s
                             ON p.account_seq IS NULL AND s.book_id = p.book_id AND s.entry_id = p.entry_id
                            AND s.leg = p.leg) AS x
             WHERE x.account_seq IS NOT NULL
            WINDOW w AS (PARTITION BY x.book_id, x.account_id ORDER BY x.account_seq)) AS r
      JOIN ledger_private.account AS a ON a.book_id = r.book_id AND a.account_id = r.account_id
      JOIN ledger_private.book AS b ON b.book_id = r.book_id
     WHERE r.balance_after <> r.expected
    UNION ALL
    -- 5b. a posting without inline sequence belongs to a deferred account and is queued or sequenced exactly
    --     once, with its own account and amount; queue and sequence rows all belong to such a posting
    SELECT 'deferred', b.code, 'entry ' || p.entry_id || ' leg ' || p.leg,
           CASE WHEN NOT a.deferred THEN 'no sequence number, but the account is not deferred'
                ELSE format('queued %s time(s), sequenced %s time(s)', (SELECT count(*) FROM ledger_private.deferred_leg AS d
                      WHERE d.book_id = p.book_id AND d.entry_id = p.entry_id AND d.leg = p.leg
                        AND d.account_id = p.account_id AND d.amount = p.amount),
                     (SELECT count(*) FROM ledger_private.deferred_sequence AS s
                      WHERE s.book_id = p.book_id AND s.entry_id = p.entry_id AND s.leg = p.leg
                        AND s.account_id = p.account_id)) END
      FROM ledger_private.posting AS p
      JOIN ledger_private.book AS b USING (book_id)
      JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
     WHERE p.account_seq IS NULL
       AND (NOT a.deferred
            OR (SELECT count(*) FROM ledger_private.deferred_leg AS d
                 WHERE d.book_id = p.book_id AND d.entry_id = p.entry_id AND d.leg = p.leg
                   AND d.account_id = p.account_id AND d.amount = p.amount)
             + (SELECT count(*) FROM ledger_private.deferred_sequence AS s
                 WHERE s.book_id = p.book_id AND s.entry_id = p.entry_id AND s.leg = p.leg
                   AND s.account_id = p.account_id) <> 1)
    UNION ALL
    SELECT 'deferred', b.code, 'queue ' || d.queue_id, 'queued leg without its posting'
      FROM ledger_private.deferred_leg AS d
      JOIN ledger_private.book AS b USING (book_id)
     WHERE NOT EXISTS (SELECT 1 FROM ledger_private.posting AS p
                        WHERE p.book_id = d.book_id AND p.entry_id = d.entry_id AND p.leg = d.leg
                          AND p.account_id = d.account_id AND p.amount = d.amount AND p.account_seq IS NULL)
    UNION ALL
    SELECT 'deferred', b.code, 'sequence entry ' || s.entry_id || ' leg ' || s.leg, 'sequenced leg without its posting'
      FROM ledger_private.deferred_sequence AS s
      JOIN ledger_private.book AS b USING (book_id)
     WHERE NOT EXISTS (SELECT 1 FROM ledger_private.posting AS p
                        WHERE p.book_id = s.book_id AND p.entry_id = s.entry_id AND p.leg = s.leg
                          AND p.account_id = s.account_id AND p.account_seq IS NULL)
    UNION ALL
    -- 5c. a deferred account's balance fits the 64-bit range at every queued leg, folded in queue order onto the
    --     stored balance as the sequencer folds them (so also when later legs bring the total back: the sequencer
    --     cannot fold that account either); postings check the stored balance only
    SELECT 'balance_range', b.code, a.code,
           format('stored balance %s with its queued legs reaches %s at queued leg %s (entry %s leg %s)',
                  a.balance, r.running, r.queue_id, r.entry_id, r.leg)
      FROM (SELECT DISTINCT ON (x.book_id, x.account_id) x.book_id, x.account_id, x.queue_id, x.entry_id, x.leg,
                   x.running
              FROM (SELECT d.book_id, d.account_id, d.queue_id, d.entry_id, d.leg,
                           c.balance + sum(d.amount) OVER (PARTITION BY d.book_id, d.account_id
                                                           ORDER BY d.queue_id) AS running
                      FROM ledger_private.deferred_leg AS d
                      JOIN ledger_private.account AS c ON c.book_id = d.book_id AND c.account_id = d.account_id) AS x
             WHERE abs(x.running) > 9223372036854775807
             ORDER BY x.book_id, x.account_id, x.queue_id) AS r
      JOIN ledger_private.account AS a ON a.book_id = r.book_id AND a.account_id = r.account_id
      JOIN ledger_private.book AS b ON b.book_id = r.book_id
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
    'Checks: currency_sum, entry_balanced, posting_refs, account_balance, running_balance, deferred, balance_range, '
    'limits, idempotency, '
    'reversal. Reads everything: run it on the replica.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger.books_check() FROM PUBLIC;

COMMIT;
