-- Deploy dualbook:function_close_account_holds to pg
-- requires: holds
-- close_account refuses an account with outstanding holds (unresolved and unexpired): closed, it would make the
-- holds' captures fail (LD202) after they had reserved the funds. The check reads the hold counters of the account
-- row the closing UPDATE locks (the row every hold_entry, capture and void updates too), so it cannot miss a hold
-- committed concurrently. The pinned settings of function_close_account_lock_timeout and function_settings_pinned
-- are repeated here: CREATE OR REPLACE replaces a function's SET clauses.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.close_account(
    p_code text,
    p_book text DEFAULT 'default',
    OUT account_id bigint,
    OUT closed_at timestamptz
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET lock_timeout = '2s'
AS $$
DECLARE
    v_book_id integer;
    v_balance numeric;
    v_type text;
    v_held_debit bigint;
    v_held_credit bigint;
    v_held_until timestamptz;
    v_down numeric;
    v_up numeric;
    v_holds bigint;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.close_account');
    v_book_id := ledger_private.book_id(p_book);
    p_code := normalize(p_code, NFC);
    -- One UPDATE: it row-locks the account, so a concurrent posting either commits first (and we see its
    -- balance, or fail to serialize) or finds the account closed.
    UPDATE ledger_private.account AS a
       SET status = 'closed', closed_at = coalesce(a.closed_at, now())
     WHERE a.book_id = v_book_id AND a.code = p_code
    RETURNING a.account_id, a.closed_at,
              a.balance + CASE WHEN a.deferred
                               THEN (SELECT coalesce(sum(q.amount), 0) FROM ledger_private.deferred_leg AS q
                                      WHERE q.book_id = a.book_id AND q.account_id = a.account_id)
                               ELSE 0 END,
              a.type, a.held_debit, a.held_credit, a.held_until
         INTO close_account.account_id, close_account.closed_at, v_balance, v_type, v_held_debit,
              v_held_credit, v_held_until;
    IF close_account.account_id IS NULL THEN
        RAISE EXCEPTION 'unknown account %', coalesce(quote_literal(ledger_private.echo(p_code)), 'NULL')
            USING ERRCODE = 'LD201', DETAIL = json_build_object('account', ledger_private.echo(p_code), 'book', p_book)::text;
    END IF;
    IF v_balance <> 0 THEN
        RAISE EXCEPTION 'account % has balance % and can only be closed at zero', quote_literal(p_code),
            CASE WHEN v_type IN ('asset', 'expense') THEN v_balance ELSE -v_balance END
            USING ERRCODE = 'LD207',
                  DETAIL = json_build_object('account', p_code,
                                             'balance', (CASE WHEN v_type IN ('asset', 'expense') THEN v_balance
                                                              ELSE -v_balance END)::text)::text,
                  HINT = 'Move the balance to another account with ledger.post_entry() first.';
    END IF;
    -- Outstanding holds (unresolved, unexpired): a capture would post to the closed account (LD202). The counters
    -- come from the row just locked, so a hold placed concurrently either committed first (counted here) or
    -- waits for this transaction, fails to serialize, and retried finds the account closed (LD202);
    -- held_amounts() takes out expired holds whether or not the sweeper recorded them.
    IF v_held_debit <> 0 OR v_held_credit <> 0 THEN
        SELECT h.down, h.up INTO v_down, v_up
          FROM ledger_private.held_amounts(v_book_id, close_account.account_id, v_type, v_held_debit,
                                           v_held_credit, v_held_until) AS h;
        IF v_down <> 0 OR v_up <> 0 THEN
            SELECT count(DISTINCT l.hold_id), sum(greatest(l.amount, 0)), sum(greatest(-l.amount, 0))
              INTO v_holds, v_down, v_up
              FROM ledger_private.outstanding_hold_legs(v_book_id, close_account.account_id, now()) AS l;
            RAISE EXCEPTION 'account % has % outstanding hold(s) and cannot be closed', quote_literal(p_code), v_holds
                USING ERRCODE = 'LD226',
                      DETAIL = json_build_object('account', p_code, 'holds', v_holds,
                                                 'pending_debit', v_down::text, 'pending_credit', v_up::text)::text,
                      HINT = 'Capture or void its holds (ledger.capture_hold(), ledger.void_hold()), or let them expire, first.';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.close_account(text, text) IS
    'Close an account at zero balance and without outstanding holds; a closed account rejects postings (LD202). '
    'Closing a closed account is a no-op returning the original closed_at. Errors: LD101 (NULL book), LD201 '
    'unknown_account, LD207 account_not_zero, LD210 unknown_book, LD226 account_has_holds, LD301 not_serializable.';

COMMIT;
