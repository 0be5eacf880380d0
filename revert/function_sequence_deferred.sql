-- Revert dualbook:function_sequence_deferred from pg
-- Back to the previous definition: an advisory lock, and every queued account folded (waiting for its row).
-- CREATE OR REPLACE resets the SET clauses to the old ones, so lock_timeout is no longer pinned.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.sequence_deferred(p_max integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer;
    v_stuck bigint[];
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'ledger.sequence_deferred must run in READ COMMITTED (this transaction is %)',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'LD303',
                  DETAIL = json_build_object('function', 'ledger.sequence_deferred',
                                             'isolation', current_setting('transaction_isolation'))::text,
                  HINT = 'Call it in its own READ COMMITTED transaction (the default isolation level).';
    END IF;
    IF p_max IS NULL OR p_max < 1 THEN
        RAISE EXCEPTION 'p_max must be a positive number of legs'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'max')::text;
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('dualbook.sequence_deferred')) THEN
        RETURN NULL;  -- another run holds the lock: it is doing this work
    END IF;
    -- Accounts that cannot be folded. Only accounts whose stored balance plus the magnitude of their queued legs
    -- could leave the range are followed in queue order; the aggregate over the queue is cheap while the
    -- sequencer keeps up.
    SELECT coalesce(array_agg(DISTINCT r.account_id), '{}'::bigint[]) INTO v_stuck
      FROM (SELECT d.account_id,
                   a.balance + sum(d.amount) OVER (PARTITION BY d.book_id, d.account_id ORDER BY d.queue_id) AS running
              FROM ledger_private.deferred_leg AS d
              JOIN ledger_private.account AS a ON a.book_id = d.book_id AND a.account_id = d.account_id
             WHERE (d.book_id, d.account_id) IN (
                   SELECT q.book_id, q.account_id
                     FROM ledger_private.deferred_leg AS q
                     JOIN ledger_private.account AS b ON b.book_id = q.book_id AND b.account_id = q.account_id
                    GROUP BY q.book_id, q.account_id, b.balance
                   HAVING abs(b.balance) + sum(abs(q.amount)) > 9223372036854775807)) AS r
     WHERE abs(r.running) > 9223372036854775807;
    IF cardinality(v_stuck) > 0 THEN
        RAISE WARNING 'ledger.sequence_deferred: % deferred account(s) left queued, their balance would leave the 64-bit range',
            cardinality(v_stuck)
            USING DETAIL = json_build_object('accounts', (SELECT array_agg(a.code ORDER BY a.code)
                                                            FROM ledger_private.account AS a
                                                           WHERE a.account_id = ANY (v_stuck)))::text,
                  HINT = 'ledger.books_check() reports them (balance_range); see docs/design.md.';
    END IF;
    WITH pick AS (
        SELECT d.queue_id, d.book_id, d.account_id, d.entry_id, d.leg, d.amount,
               sum(d.amount) OVER (PARTITION BY d.book_id, d.account_id ORDER BY d.queue_id) AS running
          FROM (SELECT * FROM ledger_private.deferred_leg AS q
                 WHERE q.account_id <> ALL (v_stuck)
                 ORDER BY q.queue_id LIMIT p_max) AS d
    ), totals AS (
        SELECT p.book_id, p.account_id, sum(p.amount) AS total, count(*) AS n,
               min(p.running) AS lowest, max(p.running) AS highest
          FROM pick AS p GROUP BY p.book_id, p.account_id
    ), folded AS (
        -- an account whose balance would leave the 64-bit range on the way is left queued (books_check reports
        -- it as balance_range) instead of failing the run for every account
        UPDATE ledger_private.account AS a
           SET balance = (a.balance + t.total)::bigint,
               seq = a.seq + t.n
          FROM totals AS t
         WHERE a.book_id = t.book_id AND a.account_id = t.account_id
           AND a.balance + t.lowest >= -9223372036854775807 AND a.balance + t.highest <= 9223372036854775807
        RETURNING a.book_id, a.account_id, a.balance - t.total AS base_balance, a.seq - t.n AS base_seq
    ), batch AS (
        DELETE FROM ledger_private.deferred_leg AS q
         USING pick AS p, folded AS f
         WHERE q.book_id = p.book_id AND q.queue_id = p.queue_id
           AND f.book_id = p.book_id AND f.account_id = p.account_id
        RETURNING q.queue_id, q.book_id, q.account_id, q.entry_id, q.leg, q.amount
    )
    INSERT INTO ledger_private.deferred_sequence (book_id, account_id, account_seq, entry_id, leg, balance_after)
    SELECT b.book_id, b.account_id,
           f.base_seq + row_number() OVER w, b.entry_id, b.leg,
           (f.base_balance + sum(b.amount) OVER w)::bigint
      FROM batch AS b
      JOIN folded AS f ON f.book_id = b.book_id AND f.account_id = b.account_id
    WINDOW w AS (PARTITION BY b.book_id, b.account_id ORDER BY b.queue_id);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION ledger.sequence_deferred(integer) IS
    'Fold up to p_max queued legs of deferred accounts into their balances and sequences; returns how many '
    '(NULL when another run holds the lock). Legs of an account whose balance would leave the 64-bit range stay '
    'queued (a WARNING names it; books_check: balance_range) and do not hold up the other accounts. Run it often '
    '(dualbook sequencer, or a scheduler); balances are exact without it. Errors: LD101 (p_max), LD303 wrong_isolation.';

REVOKE ALL ON FUNCTION ledger.sequence_deferred(integer) FROM PUBLIC;

COMMIT;
