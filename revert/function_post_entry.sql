-- Revert dualbook:function_post_entry from pg: back to the v0.2.0 functions, which raise every refusal.
-- The recorded refusals stay in their table (dropped by the revert of table_refusal); the v0.2.0 functions do
-- not read them, so a refused key can post again after this revert.

BEGIN;

DROP FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text);
DROP FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint);
DROP FUNCTION ledger_private.record_refusal(integer, text, bytea, text, text, text, text);
DROP FUNCTION ledger_private.refusal_is_recorded(text);
DROP FUNCTION ledger_private.recorded_refusals(integer, text[]);
DROP FUNCTION ledger_private.raise_invalid_request(text, text, date, jsonb, integer);
DROP FUNCTION ledger_private.raise_invalid_leg(jsonb, integer);
DROP FUNCTION ledger_private.raise_if_unbalanced(text[], bigint[]);
DROP FUNCTION ledger_private.parsed_assertions(jsonb, integer);
DROP FUNCTION ledger_private.replayed_entry(integer, text, bytea, bigint);
DROP FUNCTION ledger_private.raise_account_error(text, text, integer, boolean, text, text, text, text);
DROP FUNCTION ledger_private.raise_limit_exceeded(json);
DROP FUNCTION ledger_private.within_limits(bigint, bigint, bigint);
DROP FUNCTION ledger_private.held_limit_error(integer, bigint, text, text, bigint, bigint, bigint, bigint, timestamptz, bigint, integer);
ALTER TABLE ledger_private.account DROP COLUMN held_debit, DROP COLUMN held_credit, DROP COLUMN held_until;
DROP FUNCTION ledger_private.raise_period_closed(integer, date, date);
DROP FUNCTION ledger_private.range_hint(text);
DROP FUNCTION ledger_private.check_assertions(integer, text[], text[], bigint[], text[], text[], bigint[], boolean[]);

SET LOCAL ROLE dualbook_owner;
-- The v0.2.0 deploy script, as it was:

CREATE FUNCTION ledger_private.post(
    p_book text,
    p_idempotency_key text,
    p_legs jsonb,
    p_description text,
    p_metadata jsonb,
    p_effective_date date,
    p_assertions jsonb,
    p_reverses bigint,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_legs constant integer := 100;
    c_max_assertions constant integer := 100;
    c_bigint_max constant numeric := 9223372036854775807;
    -- Few defaults: each is an expression evaluated on every call. Arrays start NULL (NULL || x is {x}).
    v_book_id integer;
    v_n integer;
    v_leg jsonb;
    v_num numeric;
    v_codes text[];
    v_amounts bigint[];
    v_currencies text[];
    v_norm jsonb := '[]'::jsonb;
    v_metadata jsonb;
    v_hash bytea;
    v_old_hash bytea;
    v_other bigint;
    v_bad record;
    v_acc record;
    v_normal bigint;
    v_acc_codes text[];
    v_acc_ids bigint[];
    v_acc_types text[];
    v_acc_balances bigint[];
    v_acc_seqs bigint[];
    v_acc_nets bigint[];
    v_acc_deferred boolean[];
    v_acc_legs integer[];
    v_net bigint;
    v_code text;
    v_count bigint;
    v_sum numeric := 0;
    v_one_currency boolean := true;
    v_g_nets numeric[];
    v_g_ns bigint[];
    v_g_cur_min text[];
    v_g_cur_max text[];
    v_as_codes text[];
    v_as_ops text[];
    v_as_values bigint[];
    v_as jsonb;
    v_actual numeric;
    v_holds boolean;
    v_limit_error json;
    v_type text;
BEGIN
    -- The helpers are called only to raise their errors: a call with SET costs more than the check itself.
    IF current_setting('transaction_isolation') <> 'serializable' THEN
        PERFORM ledger_private.require_serializable('ledger.post_entry');
    END IF;
    SELECT b.book_id INTO v_book_id FROM ledger_private.book AS b WHERE b.code = p_book;
    IF v_book_id IS NULL THEN
        v_book_id := ledger_private.book_id(p_book);  -- raises LD101 (NULL) or LD210
    END IF;

    -- 1. The request by itself (reads nothing). ------------------------------------------------------------
    v_n := CASE WHEN jsonb_typeof(p_legs) = 'array' THEN jsonb_array_length(p_legs) END;
    IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 OR length(p_description) > 1000
       OR p_effective_date NOT BETWEEN '0001-01-01'::date AND '9999-12-31'::date
       OR v_n IS NULL OR v_n NOT BETWEEN 2 AND c_max_legs THEN
        -- the checks one by one, in order: the first failing one raises
        IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
            RAISE EXCEPTION 'idempotency key must be 1-255 characters'
                USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'idempotency_key')::text,
                      HINT = 'Use a key that identifies the business event, e.g. ''payment:8431''.';
        END IF;
        IF length(p_description) > 1000 THEN
            RAISE EXCEPTION 'description is longer than 1000 characters'
                USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'description')::text;
        END IF;
        IF p_effective_date NOT BETWEEN '0001-01-01'::date AND '9999-12-31'::date THEN
            -- 'infinity', BC dates and years past 9999 would be stored and then break every client reading them
            RAISE EXCEPTION 'effective date % is outside 0001-01-01 .. 9999-12-31', p_effective_date
                USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'effective_date')::text,
                      HINT = 'A value date that every client can represent; omit it for today (UTC).';
        END IF;
        IF p_legs IS NULL OR jsonb_typeof(p_legs) <> 'array' THEN
            RAISE EXCEPTION 'legs must be a JSON array of {"account", "amount", "currency"} objects'
                USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'legs')::text;
        END IF;
        v_n := jsonb_array_length(p_legs);
        IF v_n < 2 THEN
            RAISE EXCEPTION 'an entry needs at least two legs, got %', v_n
                USING ERRCODE = 'LD109', DETAIL = json_build_object('legs', v_n)::text;
        END IF;
        IF v_n > c_max_legs THEN
            RAISE EXCEPTION 'an entry has at most % legs, got %', c_max_legs, v_n
                USING ERRCODE = 'LD104', DETAIL = json_build_object('legs', v_n, 'limit', c_max_legs)::text;
        END IF;
    END IF;

    FOR v_i IN 1 .. v_n LOOP
        v_leg := p_legs -> (v_i - 1);
        -- One test for the shape and one for the amount; the checks inside raise the first failing one's error.
        IF (CASE WHEN jsonb_typeof(v_leg) <> 'object' THEN true
                 ELSE (v_leg - 'account' - 'amount' - 'currency') <> '{}'::jsonb
                      OR jsonb_typeof(v_leg -> 'account') IS DISTINCT FROM 'string'
                      OR length(v_leg ->> 'account') NOT BETWEEN 1 AND 200
                      OR jsonb_typeof(v_leg -> 'currency') IS DISTINCT FROM 'string'
                      OR length(v_leg ->> 'currency') NOT BETWEEN 1 AND 16 END) THEN
            IF jsonb_typeof(v_leg) <> 'object' THEN
                RAISE EXCEPTION 'leg % is not a JSON object', v_i
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i)::text;
            END IF;
            IF (v_leg - 'account' - 'amount' - 'currency') <> '{}'::jsonb THEN
                RAISE EXCEPTION 'leg % has unknown fields: %', v_i,
                    (SELECT string_agg(quote_literal(left(k, 50)), ', ')
                       FROM jsonb_object_keys(v_leg - 'account' - 'amount' - 'currency') AS k)
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i)::text,
                          HINT = 'A leg has exactly the fields account, amount and currency.';
            END IF;
            IF jsonb_typeof(v_leg -> 'account') IS DISTINCT FROM 'string'
               OR length(v_leg ->> 'account') NOT BETWEEN 1 AND 200 THEN
                RAISE EXCEPTION 'leg % needs "account": an account code of 1-200 characters', v_i
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i, 'field', 'account')::text;
            END IF;
            IF jsonb_typeof(v_leg -> 'currency') IS DISTINCT FROM 'string'
               OR length(v_leg ->> 'currency') NOT BETWEEN 1 AND 16 THEN
                RAISE EXCEPTION 'leg % needs "currency": a currency code', v_i
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i, 'field', 'currency')::text;
            END IF;
        END IF;
        v_num := CASE jsonb_typeof(v_leg -> 'amount')
                     WHEN 'number' THEN (v_leg -> 'amount')::numeric
                     WHEN 'string' THEN CASE WHEN (v_leg ->> 'amount') ~ '^-?[0-9]{1,40}$'
                                             THEN (v_leg ->> 'amount')::numeric END
                 END;
        IF v_num IS NULL OR v_num <> trunc(v_num) OR v_num = 0 OR abs(v_num) > c_bigint_max THEN
            CASE jsonb_typeof(v_leg -> 'amount')
                WHEN 'number' THEN
                    v_num := (v_leg -> 'amount')::numeric;
                WHEN 'string' THEN
                    IF (v_leg ->> 'amount') !~ '^-?[0-9]{1,40}$' THEN
                        RAISE EXCEPTION 'leg %: amount % is not an integer', v_i, quote_literal(left(v_leg ->> 'amount', 50))
                            USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i, 'field', 'amount')::text,
                                  HINT = 'Amounts are integers of minor units (1234 = 12.34 in a currency of exponent 2).';
                    END IF;
                    v_num := (v_leg ->> 'amount')::numeric;
                ELSE
                    RAISE EXCEPTION 'leg % needs "amount": an integer number of minor units', v_i
                        USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i, 'field', 'amount')::text;
            END CASE;
            IF v_num <> trunc(v_num) THEN
                RAISE EXCEPTION 'leg %: amount % is not an integer number of minor units', v_i, left(v_num::text, 50)
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', v_i, 'field', 'amount')::text,
                          HINT = 'Amounts are integers of minor units (1234 = 12.34 in a currency of exponent 2).';
            END IF;
            IF v_num = 0 THEN
                RAISE EXCEPTION 'leg % has a zero amount', v_i
                    USING ERRCODE = 'LD103', DETAIL = json_build_object('leg', v_i, 'account', v_leg ->> 'account')::text;
            END IF;
            IF abs(v_num) > c_bigint_max THEN
                RAISE EXCEPTION 'leg %: amount is outside the signed 64-bit range', v_i
                    USING ERRCODE = 'LD106',
                          DETAIL = json_build_object('leg', v_i, 'account', v_leg ->> 'account')::text;
            END IF;
        END IF;
        v_codes := v_codes || (v_leg ->> 'account');
        v_amounts := v_amounts || v_num::bigint;
        v_currencies := v_currencies || (v_leg ->> 'currency');
        v_sum := v_sum + v_num;
        v_one_currency := v_one_currency AND v_currencies[v_i] = v_currencies[1];
        v_norm := v_norm || jsonb_build_array(jsonb_build_array(v_leg ->> 'account', v_num::bigint::text,
                                                                v_leg ->> 'currency'));
    END LOOP;

    IF NOT v_one_currency OR v_sum <> 0 THEN
        -- Several currencies (or an imbalance): sum per currency and report the first unbalanced one.
        SELECT l.currency, sum(l.amount) AS imbalance INTO v_bad
          FROM unnest(v_currencies, v_amounts) AS l(currency, amount)
         GROUP BY l.currency
        HAVING sum(l.amount) <> 0
         ORDER BY l.currency
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'entry does not balance: % legs sum to %, not 0', v_bad.currency, v_bad.imbalance
                USING ERRCODE = 'LD102',
                      DETAIL = json_build_object('currency', v_bad.currency, 'imbalance', v_bad.imbalance::text)::text,
                      HINT = 'Debits (positive) and credits (negative) must sum to zero in each currency.';
        END IF;
    END IF;

    IF p_assertions IS NOT NULL THEN
        IF jsonb_typeof(p_assertions) <> 'array' OR jsonb_array_length(p_assertions) > c_max_assertions THEN
            RAISE EXCEPTION 'assertions must be a JSON array of at most % {"account", "op", "balance"} objects',
                c_max_assertions
                USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'assertions')::text;
        END IF;
        FOR v_i IN 1 .. jsonb_array_length(p_assertions) LOOP
            v_as := p_assertions -> (v_i - 1);
            -- coalesce: a missing field makes the test NULL, which must count as invalid, not as valid
            IF NOT coalesce(
                   jsonb_typeof(v_as) = 'object'
                   AND (v_as - 'account' - 'op' - 'balance') = '{}'::jsonb
                   AND jsonb_typeof(v_as -> 'account') = 'string'
                   AND length(v_as ->> 'account') <= 200
                   AND (v_as ->> 'op') IN ('=', '>=', '<=')
                   AND ((jsonb_typeof(v_as -> 'balance') = 'string' AND (v_as ->> 'balance') ~ '^-?[0-9]{1,19}$')
                        OR jsonb_typeof(v_as -> 'balance') = 'number'),
                   false) THEN
                RAISE EXCEPTION 'assertion % must be {"account": code, "op": "=" | ">=" | "<=", "balance": integer}', v_i
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('assertion', v_i)::text;
            END IF;
            v_num := (v_as ->> 'balance')::numeric;
            IF v_num <> trunc(v_num) OR abs(v_num) > c_bigint_max THEN
                RAISE EXCEPTION 'assertion %: balance must be an integer of minor units in the signed 64-bit range', v_i
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('assertion', v_i)::text;
            END IF;
            v_as_codes := v_as_codes || (v_as ->> 'account');
            v_as_ops := v_as_ops || (v_as ->> 'op');
            v_as_values := v_as_values || v_num::bigint;
        END LOOP;
    END IF;

    v_metadata := CASE WHEN p_metadata IS NULL THEN '{}'::jsonb
                       ELSE ledger_private.checked_metadata(p_metadata, 'entry') END;
    v_hash := sha256(convert_to(jsonb_build_array(v_norm, p_description, v_metadata, p_effective_date, p_reverses)::text,
                                'UTF8'));

    -- 2. Idempotency: the unique index decides. ------------------------------------------------------------
    IF p_reverses IS NULL THEN
        -- Not a reversal: the key is the only unique index that can conflict (entry_reverses_once skips rows
        -- without reverses_entry_id, and entry_id is an identity), so only its index is probed before inserting.
        INSERT INTO ledger_private.entry AS e
               (book_id, idempotency_key, request_hash, description, metadata, effective_date, reverses_entry_id)
        VALUES (v_book_id, p_idempotency_key, v_hash, p_description, v_metadata,
                coalesce(p_effective_date, (now() AT TIME ZONE 'UTC')::date), NULL)
        ON CONFLICT (book_id, idempotency_key) DO NOTHING
        RETURNING e.entry_id, e.recorded_at INTO post.entry_id, post.recorded_at;
    ELSE
        INSERT INTO ledger_private.entry AS e
               (book_id, idempotency_key, request_hash, description, metadata, effective_date, reverses_entry_id)
        VALUES (v_book_id, p_idempotency_key, v_hash, p_description, v_metadata,
                coalesce(p_effective_date, (now() AT TIME ZONE 'UTC')::date), p_reverses)
        ON CONFLICT DO NOTHING
        RETURNING e.entry_id, e.recorded_at INTO post.entry_id, post.recorded_at;
    END IF;

    IF post.entry_id IS NULL THEN
        SELECT e.entry_id, e.recorded_at, e.request_hash INTO post.entry_id, post.recorded_at, v_old_hash
          FROM ledger_private.entry AS e
         WHERE e.book_id = v_book_id AND e.idempotency_key = p_idempotency_key;
        IF post.entry_id IS NULL THEN
            -- Not the key: the other unique index, an entry is reversed at most once.
            SELECT e.entry_id INTO v_other FROM ledger_private.entry AS e
             WHERE e.book_id = v_book_id AND e.reverses_entry_id = p_reverses;
            RAISE EXCEPTION 'entry % has already been reversed by entry %', p_reverses, v_other
                USING ERRCODE = 'LD209',
                      DETAIL = json_build_object('entry_id', p_reverses, 'reversed_by', v_other)::text;
        END IF;
        IF v_old_hash <> v_hash THEN
            RAISE EXCEPTION 'idempotency key % was already used for entry % with a different request',
                quote_literal(left(p_idempotency_key, 100)), post.entry_id
                USING ERRCODE = 'LD205',
                      DETAIL = json_build_object('idempotency_key', p_idempotency_key,
                                                 'entry_id', post.entry_id)::text,
                      HINT = 'A replay must repeat the original request exactly; a new request needs a new key.';
        END IF;
        created := false;
        SELECT jsonb_object_agg(x.code, ledger_private.normal_balance(x.type, x.balance_after)) INTO post.balances
          FROM (SELECT DISTINCT ON (p.account_id) a.code, a.type, p.balance_after
                  FROM ledger_private.posting AS p
                  JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
                 WHERE p.book_id = v_book_id AND p.entry_id = post.entry_id AND p.balance_after IS NOT NULL
                 ORDER BY p.account_id, p.leg DESC) AS x;
        post.balances := coalesce(post.balances, '{}'::jsonb);
        RETURN;
    END IF;
    created := true;
    post.balances := '{}'::jsonb;

    -- 3. Balances: one UPDATE per account, in code order. -------------------------------------------------
    -- The legs grouped by account, in code order (the order every posting locks accounts in). Two legs on two
    -- accounts (the common case) need no query: the text comparison uses the same collation as ORDER BY.
    IF v_n = 2 AND v_codes[1] <> v_codes[2] THEN
        v_acc_legs := CASE WHEN v_codes[1] < v_codes[2] THEN ARRAY[1, 2] ELSE ARRAY[2, 1] END;
        v_acc_codes := ARRAY[v_codes[v_acc_legs[1]], v_codes[v_acc_legs[2]]];
        v_g_nets := ARRAY[v_amounts[v_acc_legs[1]], v_amounts[v_acc_legs[2]]];
        v_g_ns := ARRAY[1, 1];
        v_g_cur_min := ARRAY[v_currencies[v_acc_legs[1]], v_currencies[v_acc_legs[2]]];
        v_g_cur_max := v_g_cur_min;
    ELSE
        SELECT array_agg(y.code), array_agg(y.net), array_agg(y.n), array_agg(y.cur_min), array_agg(y.cur_max),
               array_agg(y.leg)
          INTO v_acc_codes, v_g_nets, v_g_ns, v_g_cur_min, v_g_cur_max, v_acc_legs
          -- a plain aggregate reads its sorted input in order
          FROM (SELECT l.code, sum(l.amount) AS net, count(*) AS n, min(l.currency) AS cur_min,
                       max(l.currency) AS cur_max, min(l.leg)::integer AS leg
                  FROM unnest(v_codes, v_amounts, v_currencies) WITH ORDINALITY AS l(code, amount, currency, leg)
                 GROUP BY l.code ORDER BY l.code) AS y;
    END IF;
    FOR v_i IN 1 .. array_length(v_acc_codes, 1) LOOP
        IF abs(v_g_nets[v_i]) > c_bigint_max THEN
            RAISE EXCEPTION 'the legs on account % sum beyond the signed 64-bit range', quote_literal(v_acc_codes[v_i])
                USING ERRCODE = 'LD106', DETAIL = json_build_object('account', v_acc_codes[v_i])::text;
        END IF;
        -- scalars: an array subscript inside a statement costs more than a plain parameter
        v_net := v_g_nets[v_i];
        v_code := v_acc_codes[v_i];
        v_count := v_g_ns[v_i];
        -- The 64-bit range check in bigint arithmetic that cannot overflow; add_checked() only to raise LD211.
        UPDATE ledger_private.account AS a
           SET balance = CASE WHEN (v_net >= 0 AND a.balance <= 9223372036854775807 - v_net)
                                OR (v_net < 0 AND a.balance >= -9223372036854775807 - v_net)
                              THEN a.balance + v_net
                              ELSE ledger_private.add_checked(a.balance, v_net, a.code) END,
               seq = a.seq + v_count
         WHERE a.book_id = v_book_id AND a.code = v_code AND NOT a.deferred
        RETURNING a.account_id, a.type, a.currency, a.status, a.lower_limit, a.upper_limit, a.balance, a.seq,
                  false AS deferred
             INTO v_acc;
        IF NOT FOUND THEN
            -- A deferred account is only read (its row is written by the sequencer alone): its leg is queued.
            -- balance is the stored one, without queued legs: only the range check below uses it (summing the
            -- queue would make concurrent postings to the account conflict, which deferred accounts avoid)
            SELECT a.account_id, a.type, a.currency, a.status, a.lower_limit, a.upper_limit,
                   a.balance, NULL::bigint AS seq, true AS deferred
              INTO v_acc
              FROM ledger_private.account AS a
             WHERE a.book_id = v_book_id AND a.code = v_code AND a.deferred;
            IF FOUND THEN
                PERFORM ledger_private.add_checked(v_acc.balance, v_net, v_code);
            END IF;
        END IF;
        IF v_acc.account_id IS NULL OR v_acc.status <> 'open'
           OR v_g_cur_min[v_i] <> v_acc.currency OR v_g_cur_max[v_i] <> v_acc.currency THEN
            IF v_acc.account_id IS NULL THEN
                RAISE EXCEPTION 'unknown account %', quote_literal(v_acc_codes[v_i])
                    USING ERRCODE = 'LD201',
                          DETAIL = json_build_object('account', v_acc_codes[v_i], 'book', p_book,
                                                     'leg', v_acc_legs[v_i])::text,
                          HINT = 'Create it with ledger.create_account().';
            END IF;
            IF v_acc.status <> 'open' THEN
                RAISE EXCEPTION 'account % is closed', quote_literal(v_acc_codes[v_i])
                    USING ERRCODE = 'LD202',
                          DETAIL = json_build_object('account', v_acc_codes[v_i], 'leg', v_acc_legs[v_i])::text;
            END IF;
            v_type := CASE WHEN v_g_cur_min[v_i] <> v_acc.currency THEN v_g_cur_min[v_i] ELSE v_g_cur_max[v_i] END;
            IF NOT EXISTS (SELECT 1 FROM ledger_private.currency AS c WHERE c.code = v_type) THEN
                RAISE EXCEPTION 'unknown currency %', quote_literal(v_type)
                    USING ERRCODE = 'LD108', DETAIL = json_build_object('currency', v_type)::text;
            END IF;
            RAISE EXCEPTION 'account % is in %, not %', quote_literal(v_acc_codes[v_i]), v_acc.currency, v_type
                USING ERRCODE = 'LD107',
                      DETAIL = json_build_object('account', v_acc_codes[v_i], 'account_currency', v_acc.currency,
                                                 'leg_currency', v_type, 'leg', v_acc_legs[v_i])::text;
        END IF;
        v_normal := ledger_private.normal_balance(v_acc.type, v_acc.balance);
        IF v_limit_error IS NULL AND NOT v_acc.deferred AND (v_normal < v_acc.lower_limit OR v_normal > v_acc.upper_limit) THEN
            -- raised after the loop, so an unknown or closed account anywhere in the entry is reported first
            v_limit_error := json_build_object('account', v_acc_codes[v_i], 'balance', v_normal::text,
                                               'lower_limit', v_acc.lower_limit::text,
                                               'upper_limit', v_acc.upper_limit::text,
                                               'leg', v_acc_legs[v_i]);
        END IF;
        v_acc_ids := v_acc_ids || v_acc.account_id;
        v_acc_types := v_acc_types || v_acc.type;
        v_acc_balances := v_acc_balances || v_acc.balance;
        v_acc_seqs := v_acc_seqs || v_acc.seq;
        v_acc_nets := v_acc_nets || v_net;
        v_acc_deferred := v_acc_deferred || v_acc.deferred;
        IF NOT v_acc.deferred THEN
            -- deferred accounts are left out: their balance is not read on the write path
            post.balances := post.balances || jsonb_build_object(v_acc_codes[v_i], v_normal);
        END IF;
    END LOOP;

    IF v_limit_error IS NOT NULL THEN
        RAISE EXCEPTION 'account % would have balance %, outside its limits [%, %]',
            quote_literal(v_limit_error ->> 'account'), v_limit_error ->> 'balance',
            coalesce(v_limit_error ->> 'lower_limit', '-inf'), coalesce(v_limit_error ->> 'upper_limit', 'inf')
            USING ERRCODE = 'LD203', DETAIL = v_limit_error::text,
                  HINT = 'The entry was not posted; nothing changed.';
    END IF;

    -- 4. Postings: per-account sequence and running balance, in leg order. -------------------------------
    IF array_length(v_acc_codes, 1) = v_n THEN
        -- One leg per account (the common case): the leg's sequence number and running balance are the
        -- account's new seq and balance, already range-checked by the UPDATE.
        INSERT INTO ledger_private.posting
               (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
        SELECT v_book_id, post.entry_id, a.leg, a.account_id, a.net, a.currency,
               CASE WHEN NOT a.deferred THEN a.seq END, CASE WHEN NOT a.deferred THEN a.balance END
          FROM unnest(v_acc_legs, v_acc_ids, v_acc_nets, v_g_cur_min, v_acc_seqs, v_acc_balances, v_acc_deferred)
               AS a(leg, account_id, net, currency, seq, balance, deferred);
    ELSE
        INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
        SELECT v_book_id, post.entry_id, l.leg, a.account_id, l.amount, l.currency,
               CASE WHEN NOT a.deferred THEN a.seq_after - count(*) OVER w_rest + 1 END,
               -- an intermediate balance (several legs on one account) must fit too
               CASE WHEN NOT a.deferred
                    THEN ledger_private.add_checked(0, a.balance_after - a.net + sum(l.amount) OVER w_upto, l.code) END
          FROM unnest(v_codes, v_amounts, v_currencies) WITH ORDINALITY AS l(code, amount, currency, leg)
          JOIN unnest(v_acc_codes, v_acc_ids, v_acc_balances, v_acc_seqs, v_acc_nets, v_acc_deferred)
               AS a(code, account_id, balance_after, seq_after, net, deferred) ON a.code = l.code
        WINDOW w_upto AS (PARTITION BY l.code ORDER BY l.leg),
               w_rest AS (PARTITION BY l.code ORDER BY l.leg ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING);
    END IF;

    IF true = ANY (v_acc_deferred) THEN
        INSERT INTO ledger_private.deferred_leg (book_id, account_id, entry_id, leg, amount)
        SELECT v_book_id, a.account_id, post.entry_id, l.leg, l.amount
          FROM unnest(v_codes, v_amounts) WITH ORDINALITY AS l(code, amount, leg)
          JOIN unnest(v_acc_codes, v_acc_ids, v_acc_deferred) AS a(code, account_id, deferred) ON a.code = l.code
         WHERE a.deferred
         ORDER BY l.leg;
    END IF;

    -- 5. Balance assertions, against the balances this entry produced (or the stored one if untouched). ----
    FOR v_i IN 1 .. coalesce(array_length(v_as_codes, 1), 0) LOOP
        v_n := array_position(v_acc_codes, v_as_codes[v_i]);
        IF v_n IS NOT NULL AND NOT v_acc_deferred[v_n] THEN
            v_actual := ledger_private.normal_balance(v_acc_types[v_n], v_acc_balances[v_n]);
        ELSE
            -- stored balance plus queued legs (this entry's included): a read, so an assertion on a hot
            -- account makes the entry conflict with concurrent postings to it
            SELECT CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END
                   * (a.balance + CASE WHEN a.deferred
                                       THEN (SELECT coalesce(sum(q.amount), 0) FROM ledger_private.deferred_leg AS q
                                              WHERE q.book_id = a.book_id AND q.account_id = a.account_id)
                                       ELSE 0 END)
              INTO v_actual
              FROM ledger_private.account AS a WHERE a.book_id = v_book_id AND a.code = v_as_codes[v_i];
            IF NOT FOUND THEN
                RAISE EXCEPTION 'assertion %: unknown account %', v_i, quote_literal(v_as_codes[v_i])
                    USING ERRCODE = 'LD201', DETAIL = json_build_object('account', v_as_codes[v_i], 'assertion', v_i)::text;
            END IF;
        END IF;
        v_holds := CASE v_as_ops[v_i]
                       WHEN '=' THEN v_actual = v_as_values[v_i]
                       WHEN '>=' THEN v_actual >= v_as_values[v_i]
                       ELSE v_actual <= v_as_values[v_i]
                   END;
        IF NOT v_holds THEN
            RAISE EXCEPTION 'assertion % failed: account % has balance %, expected % %', v_i,
                quote_literal(v_as_codes[v_i]), v_actual, v_as_ops[v_i], v_as_values[v_i]
                USING ERRCODE = 'LD204',
                      DETAIL = json_build_object('assertion', v_i, 'account', v_as_codes[v_i],
                                                 'balance', v_actual::text, 'op', v_as_ops[v_i],
                                                 'expected', v_as_values[v_i]::text)::text,
                      HINT = 'The entry was not posted; nothing changed.';
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint) IS
    'The posting core shared by ledger.post_entry() and ledger.reverse_entry().';

CREATE FUNCTION ledger.post_entry(
    p_idempotency_key text,
    p_legs jsonb,
    p_description text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL,
    p_effective_date date DEFAULT NULL,
    p_assertions jsonb DEFAULT NULL,
    p_book text DEFAULT 'default',
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- PL/pgSQL rather than LANGUAGE sql: a SQL function that cannot be inlined (SECURITY DEFINER, SET) has its body
-- parsed and planned on every call; here the call is a simple expression, evaluated without a plan or a
-- tuplestore (docs/performance.md, "Optimising post_entry").
DECLARE
    v_result record;
BEGIN
    v_result := ledger_private.post(p_book, p_idempotency_key, p_legs, p_description, p_metadata,
                                    p_effective_date, p_assertions, NULL);
    entry_id := v_result.entry_id;
    created := v_result.created;
    recorded_at := v_result.recorded_at;
    balances := v_result.balances;
END
$$;
COMMENT ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) IS
    'Post one balanced entry, all or nothing, in the caller''s SERIALIZABLE transaction. '
    'p_legs: [{"account": code, "amount": minor units (positive = debit, negative = credit; number or string), '
    '"currency": code}, ...]. p_assertions: [{"account", "op": "="|">="|"<=", "balance"}] on normal balances after '
    'the entry. Returns the entry id, created (false for a replay of the same key and request, which writes '
    'nothing), recorded_at and the touched accounts'' normal balances just after the entry (deferred accounts '
    'left out). Errors: LD101-LD109, '
    'LD201-LD205, LD210, LD211, LD301; see ledger.error_codes.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default.
REVOKE ALL ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) TO dualbook_app;

COMMIT;
