-- Deploy dualbook:function_create_account to pg
-- requires: function_create_account@v0.2.0
-- requires: table_account_code_unicode
-- Reworked: account codes may hold Unicode letters (table_account_code_unicode), and create_account and
-- close_account normalise the code they are given to NFC first, so the same text typed in NFD names the same
-- account; a lower limit of -2^63 is refused (the range is symmetric, docs/sql-api.md §1.3).
-- Values an error repeats from the caller go through ledger_private.echo() (at most 256 characters and a marker):
-- created by the later change function_helpers; PL/pgSQL binds it when an error is raised.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE OR REPLACE FUNCTION ledger.create_account(
    p_code text,
    p_currency text,
    p_type text,
    p_lower_limit bigint DEFAULT NULL,
    p_upper_limit bigint DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL,
    p_book text DEFAULT 'default',
    p_deferred boolean DEFAULT false,
    OUT account_id bigint,
    OUT created boolean
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_book_id integer;
    v_metadata jsonb;
    v_old ledger_private.account%ROWTYPE;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.create_account');
    v_book_id := ledger_private.book_id(p_book);
    p_code := normalize(p_code, NFC);  -- one spelling per code: Unicode normalisation form C
    IF p_code IS NULL OR NOT (p_code COLLATE "und-x-icu") ~ '^[[:alpha:]0-9][[:alpha:]0-9_.:@/+-]{0,199}$' THEN
        RAISE EXCEPTION 'invalid account code %', coalesce(quote_literal(ledger_private.echo(p_code)), 'NULL')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'code', 'value', ledger_private.echo(p_code))::text,
                  HINT = 'An account code is 1-200 characters: letters of any script, digits 0-9 and _ . : @ / + -, '
                         'starting with a letter or a digit (stored in Unicode NFC).';
    END IF;
    IF p_type IS NULL OR p_type NOT IN ('asset', 'liability', 'equity', 'income', 'expense') THEN
        RAISE EXCEPTION 'invalid account type %', coalesce(quote_literal(ledger_private.echo(p_type)), 'NULL')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'type', 'value', ledger_private.echo(p_type))::text,
                  HINT = 'One of asset, liability, equity, income, expense.';
    END IF;
    IF p_lower_limit = -9223372036854775808 THEN
        RAISE EXCEPTION 'lower limit -9223372036854775808 is outside the range of balances'
            USING ERRCODE = 'LD101',
                  DETAIL = json_build_object('argument', 'lower_limit', 'lower_limit', p_lower_limit::text)::text,
                  HINT = 'Balances lie within ±9223372036854775807 (-2^63 is never a balance): use NULL for no lower limit.';
    END IF;
    IF p_lower_limit > p_upper_limit THEN
        RAISE EXCEPTION 'lower limit % is above upper limit %', p_lower_limit, p_upper_limit
            USING ERRCODE = 'LD101',
                  DETAIL = json_build_object('argument', 'lower_limit', 'lower_limit', p_lower_limit::text,
                                             'upper_limit', p_upper_limit::text)::text;
    END IF;
    IF p_lower_limit > 0 OR p_upper_limit < 0 THEN
        RAISE EXCEPTION 'limits [%, %] exclude the opening balance 0',
            coalesce(p_lower_limit::text, '-inf'), coalesce(p_upper_limit::text, 'inf')
            USING ERRCODE = 'LD101',
                  DETAIL = json_build_object('argument', 'lower_limit', 'lower_limit', p_lower_limit::text,
                                             'upper_limit', p_upper_limit::text)::text;
    END IF;
    IF p_deferred IS NULL OR (p_deferred AND (p_lower_limit IS NOT NULL OR p_upper_limit IS NOT NULL)) THEN
        RAISE EXCEPTION 'a deferred account cannot have limits'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'deferred')::text,
                  HINT = 'A deferred (hot) account skips the balance read on the write path: nothing could enforce a limit.';
    END IF;
    IF p_currency IS NULL OR NOT EXISTS (SELECT 1 FROM ledger_private.currency AS c WHERE c.code = p_currency) THEN
        RAISE EXCEPTION 'unknown currency %', coalesce(quote_literal(ledger_private.echo(p_currency)), 'NULL')
            USING ERRCODE = 'LD108', DETAIL = json_build_object('currency', ledger_private.echo(p_currency))::text,
                  HINT = 'See ledger.currencies; add custom assets with ledger.create_currency().';
    END IF;
    v_metadata := ledger_private.checked_metadata(p_metadata, 'account');

    INSERT INTO ledger_private.account AS a
           (book_id, code, currency, type, lower_limit, upper_limit, metadata, deferred)
    VALUES (v_book_id, p_code, p_currency, p_type, p_lower_limit, p_upper_limit, v_metadata, p_deferred)
        ON CONFLICT (book_id, code) DO NOTHING
        RETURNING a.account_id INTO create_account.account_id;
    IF create_account.account_id IS NOT NULL THEN
        created := true;
        RETURN;
    END IF;

    -- The code exists: the same attributes make this a replay, anything else a conflict.
    SELECT * INTO v_old FROM ledger_private.account AS a WHERE a.book_id = v_book_id AND a.code = p_code;
    IF (v_old.currency, v_old.type, v_old.lower_limit, v_old.upper_limit, v_old.metadata, v_old.deferred)
       IS DISTINCT FROM (p_currency, p_type, p_lower_limit, p_upper_limit, v_metadata, p_deferred) THEN
        RAISE EXCEPTION 'account % exists with different attributes', quote_literal(p_code)
            USING ERRCODE = 'LD206',
                  DETAIL = json_build_object('account', p_code, 'currency', v_old.currency, 'type', v_old.type,
                                             'lower_limit', v_old.lower_limit::text,
                                             'upper_limit', v_old.upper_limit::text,
                                             'deferred', v_old.deferred)::text;
    END IF;
    IF v_old.status = 'closed' THEN
        RAISE EXCEPTION 'account % exists and is closed', quote_literal(p_code)
            USING ERRCODE = 'LD202', DETAIL = json_build_object('account', p_code)::text,
                  HINT = 'A closed account is never reopened: open one with a new code.';
    END IF;
    account_id := v_old.account_id;
    created := false;
END
$$;
COMMENT ON FUNCTION ledger.create_account(text, text, text, bigint, bigint, jsonb, text, boolean) IS
    'Open an account. Limits bound its normal balance (NULL = unbounded; lower 0 = no overdraft). p_deferred: a hot '
    'account without limits whose legs are queued instead of updating its row (see ledger.sequence_deferred()). '
    'Idempotent by code: the same attributes return the existing account with created = false. The code may hold '
    'letters of any script and is normalised to Unicode NFC. Errors: LD101 invalid_argument, '
    'LD105 metadata_too_large, LD111 metadata_too_deep, LD108 unknown_currency, LD202 account_closed (it exists, closed), '
    'LD206 account_exists, LD210 unknown_book, LD301 not_serializable.';

CREATE OR REPLACE FUNCTION ledger.close_account(
    p_code text,
    p_book text DEFAULT 'default',
    OUT account_id bigint,
    OUT closed_at timestamptz
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger.close_account(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.create_account(text, text, text, bigint, bigint, jsonb, text, boolean) FROM PUBLIC;

COMMIT;
