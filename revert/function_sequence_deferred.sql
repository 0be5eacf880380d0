-- Revert dualbook:function_sequence_deferred from pg: back to the @deferred_accounts version (one account
-- beyond the 64-bit range stopped every fold). CREATE OR REPLACE keeps owner and grants.

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
    WITH batch AS (
        DELETE FROM ledger_private.deferred_leg AS q
         WHERE q.queue_id IN (SELECT d.queue_id FROM ledger_private.deferred_leg AS d ORDER BY d.queue_id LIMIT p_max)
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
    'without it. Errors: LD101 (p_max), LD211 balance_out_of_range, LD303 wrong_isolation.';

REVOKE ALL ON FUNCTION ledger.sequence_deferred(integer) FROM PUBLIC;

COMMIT;
