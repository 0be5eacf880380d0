-- Deploy dualbook:function_sequence_deferred to pg
-- requires: function_sequence_deferred@deferred_accounts
-- requires: owner_ledger
-- Reworked after the hostile-input fuzz test: a deferred account whose queued legs, folded in queue order onto
-- its stored balance, would leave the 64-bit range at some leg used to fail the whole statement (LD211), so
-- one such account stopped the folding of every account, forever. Now its legs stay queued, a WARNING names
-- it, books_check() reports it (balance_range), and every other account is folded. How an account can get
-- there, and what to do: docs/design.md §7.
-- The sequencer: folds queued legs of deferred accounts into their stored balance and posting count, and gives
-- each leg its account sequence number and running balance (in deferred_sequence), in queue order. One
-- statement, so a reader sees the legs either queued or folded, never both or neither: a deferred account's
-- balance (stored + queued) is exact at every moment; only the statement numbering lags until the next run.
--
-- It runs in READ COMMITTED on purpose: only SERIALIZABLE transactions take part in SSI conflict tracking, so
-- its writes never make a concurrent posting fail, and postings never write what it reads (they only INSERT
-- into the queue; it only DELETEs rows already committed). Runs are serialised by an advisory lock.


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
        RETURN 0;  -- another sequencer is running; its work is the same
    END IF;
    -- Accounts that cannot be folded: a running balance (stored + queued legs in queue order) beyond the
    -- 64-bit range. Only accounts whose stored balance plus the magnitude of their queued legs could get there
    -- are looked at in queue order; the aggregate over the queue is cheap while the sequencer keeps up.
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
    WITH batch AS (
        DELETE FROM ledger_private.deferred_leg AS q
         WHERE q.queue_id IN (SELECT d.queue_id FROM ledger_private.deferred_leg AS d
                               WHERE d.account_id <> ALL (v_stuck)
                               ORDER BY d.queue_id LIMIT p_max)
        RETURNING q.queue_id, q.book_id, q.account_id, q.entry_id, q.leg, q.amount
    ), totals AS (
        SELECT b.book_id, b.account_id, sum(b.amount) AS total, count(*) AS n
          FROM batch AS b GROUP BY b.book_id, b.account_id
    ), folded AS (
        UPDATE ledger_private.account AS a
           SET balance = ledger_private.add_checked(a.balance, t.total, a.code),
               seq = a.seq + t.n
          FROM totals AS t
         WHERE a.book_id = t.book_id AND a.account_id = t.account_id
        RETURNING a.book_id, a.account_id, a.code, a.balance - t.total AS base_balance, a.seq - t.n AS base_seq
    )
    INSERT INTO ledger_private.deferred_sequence (book_id, account_id, account_seq, entry_id, leg, balance_after)
    SELECT b.book_id, b.account_id,
           f.base_seq + row_number() OVER w, b.entry_id, b.leg,
           ledger_private.add_checked(0, f.base_balance + sum(b.amount) OVER w, f.code)
      FROM batch AS b
      JOIN folded AS f ON f.book_id = b.book_id AND f.account_id = b.account_id
    WINDOW w AS (PARTITION BY b.book_id, b.account_id ORDER BY b.queue_id);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION ledger.sequence_deferred(integer) IS
    'Fold up to p_max queued legs of deferred accounts into their balances and sequences; returns how many '
    '(0 when another run holds the lock). Run it often (dualbook sequencer, or a scheduler); balances are exact '
    'without it. An account whose balance would leave the 64-bit range keeps its legs queued (a WARNING; '
    'books_check reports balance_range) and the others are folded. '
    'Errors: LD101 (p_max), LD211 balance_out_of_range (only when legs queued during the pass take an account '
    'out of range; the next pass leaves it out), LD303 wrong_isolation.';

REVOKE ALL ON FUNCTION ledger.sequence_deferred(integer) FROM PUBLIC;

COMMIT;
