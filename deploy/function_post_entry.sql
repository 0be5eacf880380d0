-- Deploy dualbook:function_post_entry to pg
-- requires: function_post_entry@v0.2.0
-- requires: table_refusal
-- Reworked so that a refused key stays refused: a refusal that depends on the ledger's state (LD2xx other than
-- LD205 and LD210) is recorded with the key and the request hash (ledger_private.refusal) in the caller's
-- transaction, and returned as a row (status 'refused') instead of raised, since a raise would roll the record
-- back. Every later call with the key and the same request gets the same refusal; validation errors (LD1xx)
-- still raise and leave the key unused. Deferred (hot) accounts: their legs are queued in deferred_leg (an
-- INSERT) instead of updating the account row; their postings get account_seq/balance_after from the
-- sequencer (ledger.sequence_deferred()).
-- The write path. Designed for SSI (see docs/design.md):
--   * all validation of the request itself happens first and reads nothing;
--   * idempotency is INSERT ... ON CONFLICT DO NOTHING on the entry's unique key: the index detects a replay,
--     and only the replay path reads (no read-before-insert, so no predicate locks on the key index);
--   * each touched account is changed by ONE UPDATE ... RETURNING, in code order (no deadlocks), which hands back
--     status, currency, limits and the new balance: no separate read of the account;
--   * postings are one INSERT.

BEGIN;

-- The result gains a status and the refusal's columns: a new row type, so the functions are dropped first.
DROP FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text);
DROP FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint);

SET LOCAL ROLE dualbook_owner;

-- What the account's unresolved holds reserve (ledger.hold_entry(), the holds change), read by the limit rule in
-- the RETURNING of the balance UPDATE: added with the function that reads them, so that post() never runs on a
-- schema without them. No CHECK constraints: PostgreSQL evaluates every CHECK of account on every balance update
-- (see table_account_checks_to_triggers); the hold functions keep them >= 0.
ALTER TABLE ledger_private.account
    ADD COLUMN held_debit bigint NOT NULL DEFAULT 0,
    ADD COLUMN held_credit bigint NOT NULL DEFAULT 0,
    ADD COLUMN held_until timestamptz;
COMMENT ON COLUMN ledger_private.account.held_debit IS
    'Sum of the debit (positive) legs of the account''s unresolved holds, expired or not (maintained by the hold functions).';
COMMENT ON COLUMN ledger_private.account.held_credit IS
    'Sum of the absolute credit (negative) legs of the account''s unresolved holds, expired or not.';
COMMENT ON COLUMN ledger_private.account.held_until IS
    'No later than the earliest expiry of the holds counted in held_debit/held_credit (NULL: none expires).';

-- The recorded refusals of some keys of a book; inlined by the planner into the caller's query (an index probe
-- per key). The one place both posting paths look a refused key up.
CREATE FUNCTION ledger_private.recorded_refusals(p_book_id integer, p_keys text[])
RETURNS SETOF ledger_private.refusal
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM ledger_private.refusal AS r WHERE r.book_id = p_book_id AND r.idempotency_key = ANY (p_keys);
END;
COMMENT ON FUNCTION ledger_private.recorded_refusals(integer, text[]) IS
    'The recorded refusals (ledger_private.refusal) of the given keys of a book.';

-- Which refusals are recorded with their key, one home for post() and hold_entry(): the LD2xx errors, which depend on
-- the ledger's state, except LD205 (the key is taken: its outcome is already given) and LD210 (the book is
-- unknown: there is nowhere to record it). LD1xx (bad input) leaves the key unused; 40001 and the like are retried.
CREATE FUNCTION ledger_private.refusal_is_recorded(p_sqlstate text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_sqlstate LIKE 'LD2__' AND p_sqlstate NOT IN ('LD205', 'LD210');
COMMENT ON FUNCTION ledger_private.refusal_is_recorded(text) IS
    'True for the errors a posting records with its key (LD2xx but LD205 and LD210).';

-- Record a refusal of a key: called by post() after the refused attempt was rolled back, in the caller's
-- transaction. The journal's key index is read first so that a concurrent transaction that posts the same key
-- and this one form a read-write cycle that SSI breaks (40001): a key never ends up both posted and refused.
CREATE FUNCTION ledger_private.record_refusal(
    p_book_id integer,
    p_key text,
    p_hash bytea,
    p_sqlstate text,
    p_message text,
    p_detail text,
    p_hint text
)
RETURNS ledger_private.refusal
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row ledger_private.refusal;
BEGIN
    PERFORM FROM ledger_private.entry AS e WHERE e.book_id = p_book_id AND e.idempotency_key = p_key;
    INSERT INTO ledger_private.refusal AS r
           (book_id, idempotency_key, request_hash, sqlstate, message, detail, hint)
    VALUES (p_book_id, p_key, p_hash, p_sqlstate, p_message,
            (coalesce(p_detail, '{}')::jsonb || '{"refusal": "recorded"}'::jsonb)::text, nullif(p_hint, ''))
    ON CONFLICT DO NOTHING
    RETURNING r.* INTO v_row;
    IF v_row.book_id IS NULL THEN
        -- recorded in this transaction already (a visible row; a concurrent one raises 40001 above)
        SELECT r.* INTO v_row FROM ledger_private.refusal AS r
         WHERE r.book_id = p_book_id AND r.idempotency_key = p_key;
    END IF;
    RETURN v_row;
END
$$;
COMMENT ON FUNCTION ledger_private.record_refusal(integer, text, bytea, text, text, text, text) IS
    'Records a refusal of a key (DETAIL gains "refusal": "recorded") and returns the recorded row.';

-- The HINT of LD106: how much a currency's 64-bit range holds, and what to do when it is too little. A large
-- exponent leaves little room: exponent 18 (an 18-decimal token) holds about 9.22 units per amount and balance.
CREATE FUNCTION ledger_private.range_hint(p_currency text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_exponent smallint;
BEGIN
    SELECT c.exponent INTO v_exponent FROM ledger_private.currency AS c WHERE c.code = p_currency;
    RETURN 'Amounts and balances are minor units in a signed 64-bit integer: at most 9223372036854775807 minor units, '
        || CASE WHEN v_exponent IS NULL
                THEN '9223372036854775807 / 10^e units of a currency of exponent e'
                ELSE format('which is %s units of %s (exponent %s)', trunc(9223372036854775807 / 10::numeric ^ v_exponent, 2),
                            left(p_currency, 16), v_exponent) END
        || '. A large exponent leaves little range (exponent 18 leaves about 9.22 units): for larger amounts use a '
        || 'currency or asset with a smaller exponent (e.g. 9 or 6 for an 18-decimal token), or split the amount '
        || 'over several entries.';
END
$$;
COMMENT ON FUNCTION ledger_private.range_hint(text) IS
    'The HINT of LD106: the range a currency''s exponent leaves in 64 bits, and what to do.';

-- The step "the request's scalar arguments" of post(), its error path: called only when a check failed, it
-- raises the first failing check's error, in order.
CREATE FUNCTION ledger_private.raise_invalid_request(
    p_idempotency_key text, p_description text, p_effective_date date, p_legs jsonb, p_max_legs integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer;
BEGIN
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
    IF v_n > p_max_legs THEN
        RAISE EXCEPTION 'an entry has at most % legs, got %', p_max_legs, v_n
            USING ERRCODE = 'LD104', DETAIL = json_build_object('legs', v_n, 'limit', p_max_legs)::text;
    END IF;
END
$$;

-- The step "each leg by itself" of post(), its error path: called only for a leg whose shape or amount failed
-- the one-test check, it raises the first failing check's error, in order.
CREATE FUNCTION ledger_private.raise_invalid_leg(p_leg jsonb, p_i integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_bigint_max constant numeric := 9223372036854775807;
    v_num numeric;
BEGIN
    IF jsonb_typeof(p_leg) <> 'object' THEN
        RAISE EXCEPTION 'leg % is not a JSON object', p_i
            USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i)::text;
    END IF;
    IF (p_leg - 'account' - 'amount' - 'currency') <> '{}'::jsonb THEN
        RAISE EXCEPTION 'leg % has unknown fields: %', p_i,
            (SELECT string_agg(quote_literal(left(k, 50)), ', ')
               FROM jsonb_object_keys(p_leg - 'account' - 'amount' - 'currency') AS k)
            USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i)::text,
                  HINT = 'A leg has exactly the fields account, amount and currency.';
    END IF;
    IF jsonb_typeof(p_leg -> 'account') IS DISTINCT FROM 'string'
       OR length(p_leg ->> 'account') NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'leg % needs "account": an account code of 1-200 characters', p_i
            USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i, 'field', 'account')::text;
    END IF;
    IF jsonb_typeof(p_leg -> 'currency') IS DISTINCT FROM 'string'
       OR length(p_leg ->> 'currency') NOT BETWEEN 1 AND 16 THEN
        RAISE EXCEPTION 'leg % needs "currency": a currency code', p_i
            USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i, 'field', 'currency')::text;
    END IF;
    CASE jsonb_typeof(p_leg -> 'amount')
        WHEN 'number' THEN
            v_num := (p_leg -> 'amount')::numeric;
        WHEN 'string' THEN
            IF (p_leg ->> 'amount') !~ '^-?[0-9]{1,40}$' THEN
                RAISE EXCEPTION 'leg %: amount % is not an integer', p_i, quote_literal(left(p_leg ->> 'amount', 50))
                    USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i, 'field', 'amount')::text,
                          HINT = 'Amounts are integers of minor units (1234 = 12.34 in a currency of exponent 2).';
            END IF;
            v_num := (p_leg ->> 'amount')::numeric;
        ELSE
            RAISE EXCEPTION 'leg % needs "amount": an integer number of minor units', p_i
                USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i, 'field', 'amount')::text;
    END CASE;
    IF v_num <> trunc(v_num) THEN
        RAISE EXCEPTION 'leg %: amount % is not an integer number of minor units', p_i, left(v_num::text, 50)
            USING ERRCODE = 'LD101', DETAIL = json_build_object('leg', p_i, 'field', 'amount')::text,
                  HINT = 'Amounts are integers of minor units (1234 = 12.34 in a currency of exponent 2).';
    END IF;
    IF v_num = 0 THEN
        RAISE EXCEPTION 'leg % has a zero amount', p_i
            USING ERRCODE = 'LD103', DETAIL = json_build_object('leg', p_i, 'account', p_leg ->> 'account')::text;
    END IF;
    IF abs(v_num) > c_bigint_max THEN
        RAISE EXCEPTION 'leg %: amount is outside the signed 64-bit range', p_i
            USING ERRCODE = 'LD106',
                  DETAIL = json_build_object('leg', p_i, 'account', p_leg ->> 'account')::text,
                  HINT = ledger_private.range_hint(p_leg ->> 'currency');
    END IF;
END
$$;

-- The step "balanced in every currency" of post() for an entry with several currencies or an imbalance: raises
-- LD102 for the alphabetically first unbalanced currency.
CREATE FUNCTION ledger_private.raise_if_unbalanced(p_currencies text[], p_amounts bigint[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_bad record;
BEGIN
    -- Several currencies (or an imbalance): sum per currency and report the first unbalanced one.
    SELECT l.currency, sum(l.amount) AS imbalance INTO v_bad
      FROM unnest(p_currencies, p_amounts) AS l(currency, amount)
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
END
$$;

-- The step "assertions well-formed" of post(), for an entry with assertions: their accounts, operators and
-- balances as arrays, or LD101 for the first malformed one.
CREATE FUNCTION ledger_private.parsed_assertions(
    p_assertions jsonb, p_max_assertions integer, OUT codes text[], OUT ops text[], OUT "values" bigint[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_bigint_max constant numeric := 9223372036854775807;
    v_as jsonb;
    v_num numeric;
BEGIN
    IF jsonb_typeof(p_assertions) <> 'array' OR jsonb_array_length(p_assertions) > p_max_assertions THEN
        RAISE EXCEPTION 'assertions must be a JSON array of at most % {"account", "op", "balance"} objects',
            p_max_assertions
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
        codes := codes || (v_as ->> 'account');
        ops := ops || (v_as ->> 'op');
        "values" := "values" || v_num::bigint;
    END LOOP;
END
$$;

-- The step "replay" of post(): the key (or, for a reversal, the reversed entry) is taken. The key's entry with
-- the balances right after it when the request is the same; LD205 for another request; LD209 when the conflict
-- was on the reversed entry. Called only on the replay path (the insert found a conflict).
CREATE FUNCTION ledger_private.replayed_entry(
    p_book_id integer, p_key text, p_hash bytea, p_reverses bigint,
    OUT entry_id bigint, OUT recorded_at timestamptz, OUT balances jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old_hash bytea;
    v_other bigint;
BEGIN
    SELECT e.entry_id, e.recorded_at, e.request_hash INTO replayed_entry.entry_id, replayed_entry.recorded_at, v_old_hash
      FROM ledger_private.entry AS e
     WHERE e.book_id = p_book_id AND e.idempotency_key = p_key;
    IF replayed_entry.entry_id IS NULL THEN
        -- Not the key: the other unique index, an entry is reversed at most once.
        SELECT e.entry_id INTO v_other FROM ledger_private.entry AS e
         WHERE e.book_id = p_book_id AND e.reverses_entry_id = p_reverses;
        RAISE EXCEPTION 'entry % has already been reversed by entry %', p_reverses, v_other
            USING ERRCODE = 'LD209',
                  DETAIL = json_build_object('entry_id', p_reverses, 'reversed_by', v_other)::text;
    END IF;
    IF v_old_hash <> p_hash THEN
        RAISE EXCEPTION 'idempotency key % was already used for entry % with a different request',
            quote_literal(left(p_key, 100)), replayed_entry.entry_id
            USING ERRCODE = 'LD205',
                  DETAIL = json_build_object('idempotency_key', p_key, 'entry_id', replayed_entry.entry_id)::text,
                  HINT = 'A replay must repeat the original request exactly; a new request needs a new key.';
    END IF;
    SELECT coalesce(jsonb_object_agg(x.code, ledger_private.normal_balance(x.type, x.balance_after)), '{}'::jsonb)
      INTO replayed_entry.balances
      FROM (SELECT DISTINCT ON (p.account_id) a.code, a.type, p.balance_after
              FROM ledger_private.posting AS p
              JOIN ledger_private.account AS a ON a.book_id = p.book_id AND a.account_id = p.account_id
             WHERE p.book_id = p_book_id AND p.entry_id = replayed_entry.entry_id AND p.balance_after IS NOT NULL
             ORDER BY p.account_id, p.leg DESC) AS x;
END
$$;

-- The step "the accounts" of post(), its error path: called only when an account is missing, closed or in
-- another currency than a leg on it; raises LD201, LD202, LD108 or LD107, in that order.
CREATE FUNCTION ledger_private.raise_account_error(
    p_book text, p_code text, p_leg integer, p_found boolean, p_status text, p_currency text,
    p_cur_min text, p_cur_max text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_leg_currency text;
BEGIN
    IF NOT p_found THEN
        RAISE EXCEPTION 'unknown account %', quote_literal(p_code)
            USING ERRCODE = 'LD201',
                  DETAIL = json_build_object('account', p_code, 'book', p_book,
                                             'leg', p_leg)::text,
                  HINT = 'Create it with ledger.create_account().';
    END IF;
    IF p_status <> 'open' THEN
        RAISE EXCEPTION 'account % is closed', quote_literal(p_code)
            USING ERRCODE = 'LD202',
                  DETAIL = json_build_object('account', p_code, 'leg', p_leg)::text;
    END IF;
    v_leg_currency := CASE WHEN p_cur_min <> p_currency THEN p_cur_min ELSE p_cur_max END;
    IF NOT EXISTS (SELECT 1 FROM ledger_private.currency AS c WHERE c.code = v_leg_currency) THEN
        RAISE EXCEPTION 'unknown currency %', quote_literal(v_leg_currency)
            USING ERRCODE = 'LD108', DETAIL = json_build_object('currency', v_leg_currency)::text;
    END IF;
    RAISE EXCEPTION 'account % is in %, not %', quote_literal(p_code), p_currency, v_leg_currency
        USING ERRCODE = 'LD107',
              DETAIL = json_build_object('account', p_code, 'account_currency', p_currency,
                                         'leg_currency', v_leg_currency, 'leg', p_leg)::text;
END
$$;

-- The step "limits" of post() and of the set-based batch path, its error path: raises LD203 for the account
-- named in p_error (account, balance, lower_limit, upper_limit, leg: its DETAIL).
CREATE FUNCTION ledger_private.raise_limit_exceeded(p_error json)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_error ->> 'available' IS NOT NULL THEN
        -- the balance is within the limits, the available balance (what outstanding holds leave) is not
        RAISE EXCEPTION 'account % would have balance % and available balance % (holds reserve % down, % up), '
                        'outside its limits [%, %]',
            quote_literal(p_error ->> 'account'), p_error ->> 'balance', p_error ->> 'available',
            p_error ->> 'held_down', p_error ->> 'held_up',
            coalesce(p_error ->> 'lower_limit', '-inf'), coalesce(p_error ->> 'upper_limit', 'inf')
            USING ERRCODE = 'LD203', DETAIL = p_error::text,
                  HINT = 'Outstanding holds reserve part of the limits; the refusal is recorded with its key.';
    END IF;
    RAISE EXCEPTION 'account % would have balance %, outside its limits [%, %]',
        quote_literal(p_error ->> 'account'), p_error ->> 'balance',
        coalesce(p_error ->> 'lower_limit', '-inf'), coalesce(p_error ->> 'upper_limit', 'inf')
        USING ERRCODE = 'LD203', DETAIL = p_error::text,
              HINT = 'The entry was not posted; the refusal is recorded with its key.';
END
$$;

-- The limit rule, one home for both posting paths: a normal balance within [lower, upper], NULL = unbounded.
-- A SQL-standard body, inlined by the planner into the caller's expression.
CREATE FUNCTION ledger_private.within_limits(p_normal bigint, p_lower bigint, p_upper bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (p_lower IS NULL OR p_normal >= p_lower) AND (p_upper IS NULL OR p_normal <= p_upper);

-- The limit rule with holds (ledger.hold_entry()), one home for postings, holds and captures: an account with
-- outstanding holds keeps, whichever of them are captured, its normal balance within its limits. Its available
-- balance (the normal balance minus what its holds would take away) must be >= lower, and the normal balance
-- plus what they would add <= upper. Called only for a limited account whose counters (held_debit, held_credit)
-- are not zero, which only the holds change's functions make them; ledger_private.held_amounts() (that change)
-- treats an expired hold as released, whether or not ledger.expire_holds() has recorded its expiry yet. Returns
-- LD203's DETAIL, or NULL when within.
CREATE FUNCTION ledger_private.held_limit_error(
    p_book_id integer, p_account_id bigint, p_code text, p_type text, p_lower bigint, p_upper bigint,
    p_debit bigint, p_credit bigint, p_until timestamptz, p_normal bigint, p_leg integer)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_held record;
BEGIN
    SELECT h.down, h.up INTO v_held
      FROM ledger_private.held_amounts(p_book_id, p_account_id, p_type, p_debit, p_credit, p_until) AS h;
    IF (p_lower IS NULL OR p_normal - v_held.down >= p_lower) AND (p_upper IS NULL OR p_normal + v_held.up <= p_upper) THEN
        RETURN NULL;
    END IF;
    RETURN json_build_object('account', p_code, 'balance', p_normal::text,
                             'available', (p_normal - v_held.down)::text, 'held_down', v_held.down::text,
                             'held_up', v_held.up::text, 'lower_limit', p_lower::text, 'upper_limit', p_upper::text,
                             'leg', p_leg);
END
$$;
COMMENT ON FUNCTION ledger_private.held_limit_error(integer, bigint, text, text, bigint, bigint, bigint, bigint, timestamptz, bigint, integer) IS
    'The limit rule with outstanding holds: LD203''s DETAIL (with available, held_down, held_up) when the '
    'account''s available balance or its balance plus incoming holds leaves its limits, else NULL.';

-- The step "assertions" of post(), for an entry with assertions: each against the balance this entry produced
-- (p_acc_*: the touched accounts, in code order), or the stored one (plus the queue of a deferred account) for an
-- account the entry does not touch; LD201 for an unknown account, LD204 for the first failing one.
CREATE FUNCTION ledger_private.check_assertions(
    p_book_id integer, p_codes text[], p_ops text[], p_values bigint[],
    p_acc_codes text[], p_acc_types text[], p_acc_balances bigint[], p_acc_deferred boolean[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n integer;
    v_actual numeric;
    v_holds boolean;
BEGIN
    FOR v_i IN 1 .. coalesce(array_length(p_codes, 1), 0) LOOP
        v_n := array_position(p_acc_codes, p_codes[v_i]);
        IF v_n IS NOT NULL AND NOT p_acc_deferred[v_n] THEN
            v_actual := ledger_private.normal_balance(p_acc_types[v_n], p_acc_balances[v_n]);
        ELSE
            -- stored balance plus queued legs (this entry's included): a read, so an assertion on a hot
            -- account makes the entry conflict with concurrent postings to it
            SELECT CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END
                   * (a.balance + CASE WHEN a.deferred
                                       THEN (SELECT coalesce(sum(q.amount), 0) FROM ledger_private.deferred_leg AS q
                                              WHERE q.book_id = a.book_id AND q.account_id = a.account_id)
                                       ELSE 0 END)
              INTO v_actual
              FROM ledger_private.account AS a WHERE a.book_id = p_book_id AND a.code = p_codes[v_i];
            IF NOT FOUND THEN
                RAISE EXCEPTION 'assertion %: unknown account %', v_i, quote_literal(p_codes[v_i])
                    USING ERRCODE = 'LD201', DETAIL = json_build_object('account', p_codes[v_i], 'assertion', v_i)::text;
            END IF;
        END IF;
        v_holds := CASE p_ops[v_i]
                       WHEN '=' THEN v_actual = p_values[v_i]
                       WHEN '>=' THEN v_actual >= p_values[v_i]
                       ELSE v_actual <= p_values[v_i]
                   END;
        IF NOT v_holds THEN
            RAISE EXCEPTION 'assertion % failed: account % has balance %, expected % %', v_i,
                quote_literal(p_codes[v_i]), v_actual, p_ops[v_i], p_values[v_i]
                USING ERRCODE = 'LD204',
                      DETAIL = json_build_object('assertion', v_i, 'account', p_codes[v_i],
                                                 'balance', v_actual::text, 'op', p_ops[v_i],
                                                 'expected', p_values[v_i]::text)::text,
                      HINT = 'The entry was not posted; the refusal is recorded with its key.';
        END IF;
    END LOOP;
END
$$;

COMMENT ON FUNCTION ledger_private.raise_invalid_request(text, text, date, jsonb, integer) IS
    'post() step 1, error path: raises the first failing check of the scalar arguments (LD101, LD109, LD104).';
COMMENT ON FUNCTION ledger_private.raise_invalid_leg(jsonb, integer) IS
    'post() step 1, error path: raises the first failing check of one leg (LD101, LD103, LD106).';
COMMENT ON FUNCTION ledger_private.raise_if_unbalanced(text[], bigint[]) IS
    'post() step 1: raises LD102 for the first currency whose legs do not sum to zero.';
COMMENT ON FUNCTION ledger_private.parsed_assertions(jsonb, integer) IS
    'post() step 1: the assertions as arrays (codes, ops, values); LD101 for a malformed one.';
COMMENT ON FUNCTION ledger_private.replayed_entry(integer, text, bytea, bigint) IS
    'post() step 2, replay path: the key''s entry and its balances; LD205 for another request, LD209 for a reversed entry.';
COMMENT ON FUNCTION ledger_private.raise_account_error(text, text, integer, boolean, text, text, text, text) IS
    'post() step 3, error path: LD201, LD202, LD108 or LD107 for one account.';
COMMENT ON FUNCTION ledger_private.raise_limit_exceeded(json) IS
    'post() step 3, error path: raises LD203 with the given DETAIL.';
-- The step "closed period" of post(), its error path: raises LD214 for an entry dated on or before its book's
-- close date (ledger.close_period()).
CREATE FUNCTION ledger_private.raise_period_closed(p_book_id integer, p_date date, p_closed date)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    RAISE EXCEPTION 'effective date % lies in a closed period (the book is closed through %)', p_date, p_closed
        USING ERRCODE = 'LD214',
              DETAIL = json_build_object('effective_date', p_date, 'closed_through', p_closed,
                                         'book', (SELECT b.code FROM ledger_private.book AS b
                                                   WHERE b.book_id = p_book_id))::text,
              HINT = format('Date the entry after %s; a correction of a closed period is posted in the first open '
                            'day.', p_closed);
END
$$;
COMMENT ON FUNCTION ledger_private.raise_period_closed(integer, date, date) IS
    'post() step 2, error path: raises LD214 period_closed.';

COMMENT ON FUNCTION ledger_private.within_limits(bigint, bigint, bigint) IS
    'The limit rule of both posting paths: a normal balance within [lower, upper], NULL = unbounded.';
COMMENT ON FUNCTION ledger_private.check_assertions(integer, text[], text[], bigint[], text[], text[], bigint[], boolean[]) IS
    'post() step 5: evaluates the assertions; LD201 for an unknown account, LD204 for the first failing one.';

-- The posting core, in named steps: 1. the request by itself (reads nothing); 2. idempotency (a recorded
-- refusal, or the key's unique index); 3. the accounts, one UPDATE each in code order, and the limits; 4. the
-- postings and queued legs; 5. the assertions. The error paths of the steps are the helpers above.
CREATE FUNCTION ledger_private.post(
    p_book text,
    p_idempotency_key text,
    p_legs jsonb,
    p_description text,
    p_metadata jsonb,
    p_effective_date date,
    p_assertions jsonb,
    p_reverses bigint,
    OUT status text,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text
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
    v_limit_error json;
    v_refusal ledger_private.refusal;
    v_closed date;
    v_date date;
BEGIN
    -- The helpers are called only to raise their errors: a call with SET costs more than the check itself.
    IF current_setting('transaction_isolation') <> 'serializable' THEN
        PERFORM ledger_private.require_serializable('ledger.post_entry');
    END IF;
    -- The book and its close date (book.closed_through, set by ledger.close_period(); read through to_jsonb so
    -- that this function keeps working in a schema reverted to before that column: no close, no check).
    SELECT b.book_id, (to_jsonb(b) ->> 'closed_through')::date INTO v_book_id, v_closed
      FROM ledger_private.book AS b WHERE b.code = p_book;
    IF v_book_id IS NULL THEN
        v_book_id := ledger_private.book_id(p_book);  -- raises LD101 (NULL) or LD210
    END IF;

    -- 1. The request by itself (reads nothing). ------------------------------------------------------------
    v_n := CASE WHEN jsonb_typeof(p_legs) = 'array' THEN jsonb_array_length(p_legs) END;
    IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 OR length(p_description) > 1000
       OR p_effective_date NOT BETWEEN '0001-01-01'::date AND '9999-12-31'::date
       OR v_n IS NULL OR v_n NOT BETWEEN 2 AND c_max_legs THEN
        PERFORM ledger_private.raise_invalid_request(p_idempotency_key, p_description, p_effective_date, p_legs,
                                                     c_max_legs);
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
            PERFORM ledger_private.raise_invalid_leg(v_leg, v_i);
        END IF;
        v_num := CASE jsonb_typeof(v_leg -> 'amount')
                     WHEN 'number' THEN (v_leg -> 'amount')::numeric
                     WHEN 'string' THEN CASE WHEN (v_leg ->> 'amount') ~ '^-?[0-9]{1,40}$'
                                             THEN (v_leg ->> 'amount')::numeric END
                 END;
        IF v_num IS NULL OR v_num <> trunc(v_num) OR v_num = 0 OR abs(v_num) > c_bigint_max THEN
            PERFORM ledger_private.raise_invalid_leg(v_leg, v_i);
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
        -- several currencies (or an imbalance): per currency
        PERFORM ledger_private.raise_if_unbalanced(v_currencies, v_amounts);
    END IF;

    IF p_assertions IS NOT NULL THEN
        SELECT a.codes, a.ops, a."values" INTO v_as_codes, v_as_ops, v_as_values
          FROM ledger_private.parsed_assertions(p_assertions, c_max_assertions) AS a;
    END IF;

    v_metadata := CASE WHEN p_metadata IS NULL THEN '{}'::jsonb
                       ELSE ledger_private.checked_metadata(p_metadata, 'entry') END;
    v_hash := sha256(convert_to(jsonb_build_array(v_norm, p_description, v_metadata, p_effective_date, p_reverses)::text,
                                'UTF8'));

    -- 2. Idempotency: a recorded refusal, else the unique index decides. ------------------------------------
    SELECT r.* INTO v_refusal FROM ledger_private.recorded_refusals(v_book_id, ARRAY[p_idempotency_key]) AS r;
    IF v_refusal.book_id IS NOT NULL THEN
        IF v_refusal.request_hash <> v_hash THEN
            RAISE EXCEPTION 'idempotency key % was already used for a request that was refused (%), with a different request',
                quote_literal(left(p_idempotency_key, 100)), v_refusal.sqlstate
                USING ERRCODE = 'LD205',
                      DETAIL = json_build_object('idempotency_key', p_idempotency_key,
                                                 'refused', v_refusal.sqlstate)::text,
                      HINT = 'A replay must repeat the original request exactly; a new request needs a new key.';
        END IF;
        status := 'refused';
        created := false;
        recorded_at := v_refusal.recorded_at;
        error_code := v_refusal.sqlstate;
        error_message := v_refusal.message;
        error_detail := v_refusal.detail;
        error_hint := v_refusal.hint;
        RETURN;
    END IF;

    -- Steps 2-5 in a subtransaction: a refusal rolls back what they wrote and is recorded instead.
    BEGIN
    IF p_reverses IS NULL THEN
        -- Not a reversal: the key is the only unique index that can conflict (entry_reverses_once skips rows
        -- without reverses_entry_id, and entry_id is an identity), so only its index is probed before inserting.
        INSERT INTO ledger_private.entry AS e
               (book_id, idempotency_key, request_hash, description, metadata, effective_date, reverses_entry_id)
        VALUES (v_book_id, p_idempotency_key, v_hash, p_description, v_metadata,
                coalesce(p_effective_date, (now() AT TIME ZONE 'UTC')::date), NULL)
        ON CONFLICT (book_id, idempotency_key) DO NOTHING
        RETURNING e.entry_id, e.recorded_at, e.effective_date INTO post.entry_id, post.recorded_at, v_date;
    ELSE
        INSERT INTO ledger_private.entry AS e
               (book_id, idempotency_key, request_hash, description, metadata, effective_date, reverses_entry_id)
        -- A reversal without a date takes the original's while its period is open, else the first open day. The
        -- hash holds the date as requested (NULL), so a replay matches whatever closed since.
        VALUES (v_book_id, p_idempotency_key, v_hash, p_description, v_metadata,
                coalesce(p_effective_date,
                         (SELECT greatest(o.effective_date, v_closed + 1) FROM ledger_private.entry AS o
                           WHERE o.book_id = v_book_id AND o.entry_id = p_reverses),
                         (now() AT TIME ZONE 'UTC')::date), p_reverses)
        ON CONFLICT DO NOTHING
        RETURNING e.entry_id, e.recorded_at, e.effective_date INTO post.entry_id, post.recorded_at, v_date;
    END IF;

    IF post.entry_id IS NULL THEN
        SELECT r.entry_id, r.recorded_at, r.balances INTO post.entry_id, post.recorded_at, post.balances
          FROM ledger_private.replayed_entry(v_book_id, p_idempotency_key, v_hash, p_reverses) AS r;
        created := false;
        status := 'replayed';
        RETURN;
    END IF;
    created := true;
    -- A new entry dated into a closed period is refused (recorded, like every refusal of this block); after the
    -- header insert, so a replay of an entry posted before the close still replays.
    IF v_date <= v_closed THEN
        PERFORM ledger_private.raise_period_closed(v_book_id, v_date, v_closed);
    END IF;
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
                USING ERRCODE = 'LD106', DETAIL = json_build_object('account', v_acc_codes[v_i])::text,
                      HINT = ledger_private.range_hint(v_g_cur_min[v_i]);
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
                  false AS deferred, a.held_debit, a.held_credit, a.held_until
             INTO v_acc;
        IF NOT FOUND THEN
            -- A deferred account is only read (its row is written by the sequencer alone): its leg is queued.
            -- balance is the stored one, without queued legs: only the range check below uses it (summing the
            -- queue would make concurrent postings to the account conflict, which deferred accounts avoid)
            SELECT a.account_id, a.type, a.currency, a.status, a.lower_limit, a.upper_limit,
                   a.balance, NULL::bigint AS seq, true AS deferred, 0::bigint AS held_debit,
                   0::bigint AS held_credit, NULL::timestamptz AS held_until
              INTO v_acc
              FROM ledger_private.account AS a
             WHERE a.book_id = v_book_id AND a.code = v_code AND a.deferred;
            IF FOUND THEN
                PERFORM ledger_private.add_checked(v_acc.balance, v_net, v_code);
            END IF;
        END IF;
        IF v_acc.account_id IS NULL OR v_acc.status <> 'open'
           OR v_g_cur_min[v_i] <> v_acc.currency OR v_g_cur_max[v_i] <> v_acc.currency THEN
            PERFORM ledger_private.raise_account_error(p_book, v_acc_codes[v_i], v_acc_legs[v_i], v_acc.account_id IS NOT NULL,
                                                       v_acc.status, v_acc.currency, v_g_cur_min[v_i], v_g_cur_max[v_i]);
        END IF;
        v_normal := ledger_private.normal_balance(v_acc.type, v_acc.balance);
        IF v_limit_error IS NULL AND NOT v_acc.deferred
           AND NOT ledger_private.within_limits(v_normal, v_acc.lower_limit, v_acc.upper_limit) THEN
            -- raised after the loop, so an unknown or closed account anywhere in the entry is reported first
            v_limit_error := json_build_object('account', v_acc_codes[v_i], 'balance', v_normal::text,
                                               'lower_limit', v_acc.lower_limit::text,
                                               'upper_limit', v_acc.upper_limit::text,
                                               'leg', v_acc_legs[v_i]);
        ELSIF v_limit_error IS NULL AND (v_acc.held_debit <> 0 OR v_acc.held_credit <> 0)
              AND (v_acc.lower_limit IS NOT NULL OR v_acc.upper_limit IS NOT NULL) THEN
            -- a limited account with outstanding holds: its available balance must be within the limits too
            v_limit_error := ledger_private.held_limit_error(v_book_id, v_acc.account_id, v_code, v_acc.type,
                                                             v_acc.lower_limit, v_acc.upper_limit, v_acc.held_debit,
                                                             v_acc.held_credit, v_acc.held_until, v_normal,
                                                             v_acc_legs[v_i]);
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
        PERFORM ledger_private.raise_limit_exceeded(v_limit_error);
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
    IF v_as_codes IS NOT NULL THEN
        PERFORM ledger_private.check_assertions(v_book_id, v_as_codes, v_as_ops, v_as_values, v_acc_codes, v_acc_types,
                                                v_acc_balances, v_acc_deferred);
    END IF;
    status := 'posted';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error_message = MESSAGE_TEXT,
                                error_detail = PG_EXCEPTION_DETAIL, error_hint = PG_EXCEPTION_HINT;
        -- recorded: a refusal that depends on the ledger's state; anything else is raised
        IF NOT ledger_private.refusal_is_recorded(error_code) THEN
            RAISE;
        END IF;
        v_refusal := ledger_private.record_refusal(v_book_id, p_idempotency_key, v_hash, error_code,
                                                   error_message, error_detail, error_hint);
        status := 'refused';
        entry_id := NULL;
        created := true;
        recorded_at := v_refusal.recorded_at;
        balances := NULL;
        error_detail := v_refusal.detail;
        error_hint := v_refusal.hint;
    END;
END
$$;
COMMENT ON FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint) IS
    'The posting core shared by ledger.post_entry(), ledger.reverse_entry() and ledger.post_entries(): status '
    'posted | replayed | refused (a recorded refusal, with error_code, error_message, error_detail, error_hint).';

CREATE FUNCTION ledger.post_entry(
    p_idempotency_key text,
    p_legs jsonb,
    p_description text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL,
    p_effective_date date DEFAULT NULL,
    p_assertions jsonb DEFAULT NULL,
    p_book text DEFAULT 'default',
    OUT status text,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text
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
    status := v_result.status;
    entry_id := v_result.entry_id;
    created := v_result.created;
    recorded_at := v_result.recorded_at;
    balances := v_result.balances;
    error_code := v_result.error_code;
    error_message := v_result.error_message;
    error_detail := v_result.error_detail;
    error_hint := v_result.error_hint;
END
$$;
COMMENT ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) IS
    'Post one balanced entry, all or nothing, in the caller''s SERIALIZABLE transaction. '
    'p_legs: [{"account": code, "amount": minor units (positive = debit, negative = credit; number or string), '
    '"currency": code}, ...]. p_assertions: [{"account", "op": "="|">="|"<=", "balance"}] on normal balances after '
    'the entry. Returns one row: status posted (created true) | replayed (the same key and request again; '
    'nothing written) | refused (a refusal that depends on the ledger''s state: LD201-LD204, LD209, LD211, LD214; '
    'recorded with the key in this transaction, and returned again to every later call with the key and the same '
    'request; error_code, error_message, error_detail with "refusal": "recorded", error_hint; created says whether this call '
    'recorded it). entry_id, recorded_at, and the touched accounts'' normal balances just after the entry '
    '(deferred accounts left out). Raised errors: LD101-LD109, LD205, LD210, LD301; see ledger.error_codes.';

-- Functions are executable by PUBLIC unless revoked: nobody gets EXECUTE by default. The application executes
-- post_entry (as deploy/grant_ledger.sql granted the function this change replaces).
REVOKE ALL ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.post(text, text, jsonb, text, jsonb, date, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.record_refusal(integer, text, bytea, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.refusal_is_recorded(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.recorded_refusals(integer, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_invalid_request(text, text, date, jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_invalid_leg(jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_if_unbalanced(text[], bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.parsed_assertions(jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.replayed_entry(integer, text, bytea, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_account_error(text, text, integer, boolean, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_limit_exceeded(json) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.within_limits(bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.held_limit_error(integer, bigint, text, text, bigint, bigint, bigint, bigint, timestamptz, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_period_closed(integer, date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.range_hint(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.check_assertions(integer, text[], text[], bigint[], text[], text[], bigint[], boolean[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.post_entry(text, jsonb, text, jsonb, date, jsonb, text) TO dualbook_app;

COMMIT;
