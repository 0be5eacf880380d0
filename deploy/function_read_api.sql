-- Deploy dualbook:function_read_api to pg
-- requires: function_read_api@v0.1.0
-- requires: table_deferred_queue
-- Reworked: a deferred account's balance and posting count include its queued legs (exact at every moment);
-- a leg's account_seq/balance_after come from deferred_sequence once sequenced (NULL while queued).
-- Point reads for application code. SECURITY DEFINER so callers need EXECUTE only, never table privileges.
-- They work in any isolation level; under SERIALIZABLE they take part in SSI like any read.

BEGIN;

CREATE OR REPLACE FUNCTION ledger.get_balance(
    p_account text,
    p_book text DEFAULT 'default',
    OUT account_id bigint,
    OUT code text,
    OUT currency text,
    OUT exponent smallint,
    OUT type text,
    OUT status text,
    OUT balance bigint,
    OUT seq bigint,
    OUT lower_limit bigint,
    OUT upper_limit bigint
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT a.account_id, a.code, a.currency, c.exponent, a.type, a.status,
           ledger_private.normal_balance(a.type, ledger_private.add_checked(a.balance, coalesce(q.total, 0), a.code)),
           a.seq + coalesce(q.n, 0),
           a.lower_limit, a.upper_limit
      INTO get_balance.account_id, get_balance.code, get_balance.currency, get_balance.exponent, get_balance.type,
           get_balance.status, get_balance.balance, get_balance.seq, get_balance.lower_limit, get_balance.upper_limit
      FROM ledger_private.account AS a
      JOIN ledger_private.currency AS c ON c.code = a.currency
      LEFT JOIN LATERAL (SELECT sum(d.amount) AS total, count(*) AS n FROM ledger_private.deferred_leg AS d
                          WHERE a.deferred AND d.book_id = a.book_id AND d.account_id = a.account_id) AS q ON true
     WHERE a.book_id = ledger_private.book_id(p_book) AND a.code = p_account;
    IF get_balance.account_id IS NULL THEN
        RAISE EXCEPTION 'unknown account %', coalesce(quote_literal(left(p_account, 200)), 'NULL')
            USING ERRCODE = 'LD201', DETAIL = json_build_object('account', left(p_account, 200), 'book', p_book)::text;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_balance(text, text) IS
    'An account''s current normal balance (minor units), posting count (seq), status and limits; for a deferred '
    'account both include its queued legs (LD211 if that balance left the 64-bit range). '
    'Errors: LD101 (NULL book), LD201 unknown_account, LD210 unknown_book.';

CREATE OR REPLACE FUNCTION ledger_private.entry_document(
    p_book_id integer,
    p_entry_id bigint,
    OUT entry_id bigint,
    OUT idempotency_key text,
    OUT description text,
    OUT metadata jsonb,
    OUT effective_date date,
    OUT recorded_at timestamptz,
    OUT reverses_entry_id bigint,
    OUT reversed_by_entry_id bigint,
    OUT legs jsonb
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.entry_id, e.idempotency_key, e.description, e.metadata, e.effective_date, e.recorded_at,
           e.reverses_entry_id,
           (SELECT r.entry_id FROM ledger_private.entry AS r
             WHERE r.book_id = e.book_id AND r.reverses_entry_id = e.entry_id),
           (SELECT jsonb_agg(jsonb_build_object(
                       'leg', p.leg, 'account', a.code, 'amount', p.amount, 'currency', p.currency,
                       'account_seq', coalesce(p.account_seq, s.account_seq),
                       'balance_after', ledger_private.normal_balance(a.type, coalesce(p.balance_after, s.balance_after)))
                   ORDER BY p.leg)
              FROM ledger_private.posting AS p
              JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
              LEFT JOIN ledger_private.deferred_sequence AS s
                     ON p.account_seq IS NULL AND s.book_id = p.book_id AND s.entry_id = p.entry_id AND s.leg = p.leg
             WHERE p.book_id = e.book_id AND p.entry_id = e.entry_id)
      FROM ledger_private.entry AS e
     WHERE e.book_id = p_book_id AND e.entry_id = p_entry_id;
$$;
COMMENT ON FUNCTION ledger_private.entry_document(integer, bigint) IS 'An entry header with its legs as JSON.';

CREATE OR REPLACE FUNCTION ledger.get_entry(
    p_entry_id bigint,
    p_book text DEFAULT 'default',
    OUT entry_id bigint,
    OUT idempotency_key text,
    OUT description text,
    OUT metadata jsonb,
    OUT effective_date date,
    OUT recorded_at timestamptz,
    OUT reverses_entry_id bigint,
    OUT reversed_by_entry_id bigint,
    OUT legs jsonb
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT d.* INTO get_entry.entry_id, get_entry.idempotency_key, get_entry.description, get_entry.metadata,
                    get_entry.effective_date, get_entry.recorded_at, get_entry.reverses_entry_id,
                    get_entry.reversed_by_entry_id, get_entry.legs
      FROM ledger_private.entry_document(ledger_private.book_id(p_book), p_entry_id) AS d;
    IF get_entry.entry_id IS NULL THEN
        RAISE EXCEPTION 'unknown entry %', coalesce(p_entry_id::text, 'NULL')
            USING ERRCODE = 'LD208', DETAIL = json_build_object('entry_id', p_entry_id, 'book', p_book)::text;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_entry(bigint, text) IS
    'An entry with its legs (amount debit-positive; balance_after is the account''s normal balance after the leg; '
    'account_seq and balance_after are null for a deferred account''s leg until it is sequenced). '
    'Errors: LD101 (NULL book), LD208 unknown_entry, LD210 unknown_book.';

CREATE OR REPLACE FUNCTION ledger.get_entry_by_key(
    p_idempotency_key text,
    p_book text DEFAULT 'default',
    OUT entry_id bigint,
    OUT idempotency_key text,
    OUT description text,
    OUT metadata jsonb,
    OUT effective_date date,
    OUT recorded_at timestamptz,
    OUT reverses_entry_id bigint,
    OUT reversed_by_entry_id bigint,
    OUT legs jsonb
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_entry_id bigint;
BEGIN
    SELECT e.entry_id INTO v_entry_id FROM ledger_private.entry AS e
     WHERE e.book_id = v_book_id AND e.idempotency_key = p_idempotency_key;
    IF v_entry_id IS NULL THEN
        RAISE EXCEPTION 'no entry with idempotency key %', coalesce(quote_literal(left(p_idempotency_key, 100)), 'NULL')
            USING ERRCODE = 'LD208',
                  DETAIL = json_build_object('idempotency_key', left(p_idempotency_key, 255), 'book', p_book)::text;
    END IF;
    SELECT d.* INTO get_entry_by_key.entry_id, get_entry_by_key.idempotency_key, get_entry_by_key.description,
                    get_entry_by_key.metadata, get_entry_by_key.effective_date, get_entry_by_key.recorded_at,
                    get_entry_by_key.reverses_entry_id, get_entry_by_key.reversed_by_entry_id, get_entry_by_key.legs
      FROM ledger_private.entry_document(v_book_id, v_entry_id) AS d;
END
$$;
COMMENT ON FUNCTION ledger.get_entry_by_key(text, text) IS
    'The entry posted with an idempotency key (see get_entry). Errors: LD101 (NULL book), LD208 unknown_entry, '
    'LD210 unknown_book.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger.get_entry_by_key(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.get_entry(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.entry_document(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.get_balance(text, text) FROM PUBLIC;

COMMIT;
