-- Deploy dualbook:function_sequence_deferred to pg
-- requires: function_sequence_deferred@v0.2.0
-- requires: table_worker_lock
-- Reworked so that no other role can stop the sequencer (docs/security.md §7):
--
-- * Its lock is its row of ledger_private.worker_lock, taken FOR UPDATE SKIP LOCKED, instead of an advisory lock:
--   advisory locks are open to every role, and an application session holding the old key made every pass
--   return NULL. Nobody but the owner may lock that row, and only this function does.
-- * It locks the accounts it is about to fold first, FOR NO KEY UPDATE SKIP LOCKED, and leaves out the ones
--   another transaction holds. Before, one open transaction holding a deferred account's row (the application
--   can create a deferred account and leave `close_account` uncommitted) made the fold UPDATE wait lock_timeout
--   and fail the whole pass (55P03), so no account was folded any more. Postings never lock a deferred account's
--   row (they only read it and queue a leg), so only a closing account, an operator or a superuser is skipped.
--   A skipped account's legs stay queued, so its balance (stored + queued) stays exact; a WARNING names it.
-- * lock_timeout is pinned in the definition: what is left to wait for (a relation lock held by a migration) is
--   bounded whatever the session set.
--
-- Unchanged: one statement folds the batch; accounts whose balance would leave the 64-bit range stay queued.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.sequence_deferred(p_max integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '5s'
AS $$
DECLARE
    v_n integer;
    v_stuck bigint[];
    v_cand bigint[];
    v_books integer[];
    v_locked bigint[];
    v_skipped text[];
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
    -- The sequencer's own lock: a row nobody but the owner may lock (table_worker_lock).
    PERFORM 1 FROM ledger_private.worker_lock AS w WHERE w.purpose = 'sequence_deferred' FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
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
    -- Lock the accounts to fold now, skipping those another transaction holds: waiting for them would let any
    -- open transaction on one account stop the folding of all of them. Candidates come from the queue (small while
    -- the sequencer keeps up) and are looked up by primary key.
    SELECT coalesce(array_agg(DISTINCT q.account_id), '{}'::bigint[]), coalesce(array_agg(DISTINCT q.book_id), '{}'::integer[])
      INTO v_cand, v_books
      FROM ledger_private.deferred_leg AS q
     WHERE q.account_id <> ALL (v_stuck);
    SELECT coalesce(array_agg(x.account_id), '{}'::bigint[]) INTO v_locked
      FROM (SELECT a.account_id FROM ledger_private.account AS a
             WHERE a.book_id = ANY (v_books) AND a.account_id = ANY (v_cand)
             ORDER BY a.account_id
               FOR NO KEY UPDATE OF a SKIP LOCKED) AS x;
    IF cardinality(v_locked) < cardinality(v_cand) THEN
        SELECT array_agg(a.code ORDER BY a.code) INTO v_skipped
          FROM ledger_private.account AS a
         WHERE a.book_id = ANY (v_books) AND a.account_id = ANY (v_cand) AND a.account_id <> ALL (v_locked);
    END IF;
    IF v_skipped IS NOT NULL THEN
        RAISE WARNING 'ledger.sequence_deferred: % deferred account(s) skipped, another transaction holds their row',
            cardinality(v_skipped)
            USING DETAIL = json_build_object('accounts', v_skipped[1:20], 'more', greatest(cardinality(v_skipped) - 20, 0))::text,
                  HINT = 'Their legs stay queued and their balances exact; a later pass folds them once that transaction ends (see pg_locks).';
    END IF;
    WITH pick AS (
        SELECT d.queue_id, d.book_id, d.account_id, d.entry_id, d.leg, d.amount,
               sum(d.amount) OVER (PARTITION BY d.book_id, d.account_id ORDER BY d.queue_id) AS running
          FROM (SELECT * FROM ledger_private.deferred_leg AS q
                 WHERE q.account_id = ANY (v_locked)
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
    '(NULL when another run holds the lock). Accounts whose row another transaction holds are skipped (a WARNING '
    'names them; their legs stay queued). Legs of an account whose balance would leave the 64-bit range stay '
    'queued (a WARNING names it; books_check: balance_range) and do not hold up the other accounts. Run it often '
    '(dualbook sequencer, or a scheduler); balances are exact without it. Errors: LD101 (p_max), LD303 wrong_isolation.';

REVOKE ALL ON FUNCTION ledger.sequence_deferred(integer) FROM PUBLIC;

COMMIT;
