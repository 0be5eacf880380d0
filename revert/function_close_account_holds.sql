-- Revert dualbook:function_close_account_holds from pg
-- close_account as it was: the body of function_create_account with the settings pinned since.

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
              a.type
         INTO close_account.account_id, close_account.closed_at, v_balance, v_type;
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
END
$$;
COMMENT ON FUNCTION ledger.close_account(text, text) IS
    'Close an account at zero balance; a closed account rejects postings (LD202). Closing a closed account is a '
    'no-op returning the original closed_at. Errors: LD101 (NULL book), LD201 unknown_account, LD207 account_not_zero, '
    'LD210 unknown_book, LD301 not_serializable.';

COMMIT;
