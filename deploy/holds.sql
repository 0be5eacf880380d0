-- Deploy dualbook:holds to pg
-- requires: function_post_entry
-- requires: function_post_entries
-- requires: function_close_period
-- requires: function_settings_pinned
-- requires: error_catalog
-- requires: function_reports
-- Two-phase postings. ledger.hold_entry() takes the request of post_entry (legs, key, description, metadata,
-- effective date) plus an optional expiry and reserves the amounts without posting them; ledger.capture_hold()
-- posts the hold (all of it, or for a two-leg hold a smaller amount: the rest is released) as an ordinary entry
-- through the posting core; ledger.void_hold() releases it; a hold whose expiry has passed is released.
--
-- Every account has a posted balance (its balance), pending amounts per side (its unresolved, unexpired holds'
-- debits and credits) and an available balance (the normal balance minus what its holds would take away).
-- Limits hold for every outcome of the holds: available >= lower, normal + what the holds would add <= upper,
-- for holds and for ordinary postings (ledger_private.held_limit_error(), called by post()).
--
-- Storage: a hold (header), its legs, and at most one resolution (its primary key is the hold's id: exactly
-- one resolution per hold, whatever the races); all three append-only, so a hold never carries a status flag
-- that could go stale: its state is derived (a resolution row, else expired when expires_at <= now(), else
-- pending). The account row keeps the outstanding totals (held_debit, held_credit: unresolved holds, expired
-- or not; columns added by function_post_entry, whose post() reads them) and held_until (no later than the
-- earliest expiry among them), so a posting reads the totals in the RETURNING of the UPDATE it does anyway; only
-- when held_until has passed are the expired holds' legs taken out of the totals.
--
-- Deferred (hot) accounts take no holds (LD225): their balance is not read on the write path, so nothing could
-- be reserved against it. Resolution errors raise and leave the key unused (a resolved hold stays resolved, so
-- they never change); a refusal of the posting core (LD202, LD203, LD211, LD214 ...) is recorded with the key.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE TABLE ledger_private.hold (
    hold_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id         integer NOT NULL REFERENCES ledger_private.book (book_id),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_hash    bytea NOT NULL,
    description     text,
    metadata        jsonb NOT NULL DEFAULT '{}',
    effective_date  date NOT NULL,
    expires_at      timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (book_id, idempotency_key)
);
COMMENT ON TABLE ledger_private.hold IS
    'Holds (ledger.hold_entry()): reserved, not posted; state derived from hold_resolution and expires_at.';

CREATE TABLE ledger_private.hold_leg (
    -- no foreign keys (as on postings, docs/design.md §3): the check's read of hold's primary key would take an
    -- SSI predicate lock on the index page every concurrent hold inserts into, and make concurrent holds and
    -- captures fail with 40001; the hold functions write legs and resolutions only for a hold they inserted or
    -- locked, and the tables are append-only
    hold_id    bigint NOT NULL,
    leg        integer NOT NULL,
    book_id    integer NOT NULL,
    account_id bigint NOT NULL,
    -- the account's code (it never changes): a capture builds its legs without reading account rows, which
    -- under SSI would conflict with every posting to them
    account    text NOT NULL,
    amount     bigint NOT NULL CHECK (amount <> 0),
    currency   text NOT NULL,
    -- no foreign key to account: a TRUNCATE of account must meet its append-only trigger, not a reference
    PRIMARY KEY (hold_id, leg)
);
CREATE INDEX hold_leg_account ON ledger_private.hold_leg (book_id, account_id, hold_id);
COMMENT ON TABLE ledger_private.hold_leg IS 'The legs of a hold (debit positive), as requested.';

CREATE TABLE ledger_private.hold_resolution (
    hold_id         bigint PRIMARY KEY,
    book_id         integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('captured', 'voided', 'expired')),
    -- a capture's key is also the key of the entry it posted (ledger_private.entry.idempotency_key)
    idempotency_key text,
    amount          bigint,
    resolved_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'expired') = (idempotency_key IS NULL)),
    CHECK ((kind = 'captured') = (amount IS NOT NULL))
);
CREATE UNIQUE INDEX hold_resolution_key ON ledger_private.hold_resolution (book_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
COMMENT ON TABLE ledger_private.hold_resolution IS
    'At most one per hold (the primary key): captured (the amount; the entry posted has the same key), voided, or '
    'expired (recorded by ledger.expire_holds(); resolved_at is the expiry).';

CREATE TRIGGER hold_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.hold
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('holds are append-only');
CREATE TRIGGER hold_leg_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.hold_leg
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('hold legs are append-only');
CREATE TRIGGER hold_resolution_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_private.hold_resolution
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_private.forbid_change('a hold is resolved once, for good');

-- The legs of a book's holds outstanding at p_at on one account (NULL: every account): recorded by then, not
-- resolved by then, not expired by then. The one definition of "outstanding" for reads, reports and limits.
CREATE FUNCTION ledger_private.outstanding_hold_legs(p_book_id integer, p_account_id bigint, p_at timestamptz)
RETURNS TABLE (hold_id bigint, account_id bigint, amount bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT l.hold_id, l.account_id, l.amount
      FROM ledger_private.hold_leg AS l
      JOIN ledger_private.hold AS h ON h.hold_id = l.hold_id
     WHERE l.book_id = p_book_id AND (p_account_id IS NULL OR l.account_id = p_account_id)
       AND h.recorded_at <= p_at
       AND (h.expires_at IS NULL OR h.expires_at > p_at)
       AND NOT EXISTS (SELECT FROM ledger_private.hold_resolution AS r
                        WHERE r.hold_id = l.hold_id AND r.resolved_at <= p_at);
END;
COMMENT ON FUNCTION ledger_private.outstanding_hold_legs(integer, bigint, timestamptz) IS
    'The legs of the holds outstanding at a time (recorded, neither resolved nor expired by then).';

-- What an account's outstanding holds take away from (down) and add to (up) its normal balance, now, from its
-- counters (p_debit, p_credit, p_until: the account row's held_*). When no counted hold can have expired yet
-- (p_until in the future) the counters are exact; else the legs of the expired, unrecorded holds are taken out:
-- an expired hold is released here whether or not ledger.expire_holds() has recorded its expiry. (A hold being
-- captured in this transaction is already out of the counters, and not expired.)
CREATE FUNCTION ledger_private.held_amounts(
    p_book_id integer, p_account_id bigint, p_type text, p_debit bigint, p_credit bigint, p_until timestamptz,
    OUT down numeric, OUT up numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_debit numeric := p_debit;
    v_credit numeric := p_credit;
BEGIN
    IF (v_debit <> 0 OR v_credit <> 0) AND p_until <= now() THEN
        SELECT v_debit - coalesce(sum(greatest(l.amount, 0)), 0), v_credit - coalesce(sum(greatest(-l.amount, 0)), 0)
          INTO v_debit, v_credit
          FROM ledger_private.hold_leg AS l
          JOIN ledger_private.hold AS h ON h.hold_id = l.hold_id
         WHERE l.book_id = p_book_id AND l.account_id = p_account_id
           AND h.expires_at <= now()
           AND NOT EXISTS (SELECT FROM ledger_private.hold_resolution AS r WHERE r.hold_id = l.hold_id);
    END IF;
    IF p_type IN ('asset', 'expense') THEN
        down := v_credit;
        up := v_debit;
    ELSE
        down := v_debit;
        up := v_credit;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger_private.held_amounts(integer, bigint, text, bigint, bigint, timestamptz) IS
    'What an account''s unresolved, unexpired holds take from (down) and add to (up) its normal balance, now.';

-- Reserve (p_sign 1) or release (p_sign -1) a hold's legs on its accounts' counters, accounts in code order
-- (the order every posting locks them in). A release that empties an account's counters clears held_until.
CREATE FUNCTION ledger_private.adjust_held(p_hold_id bigint, p_sign integer, p_expires_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_g record;
BEGIN
    FOR v_g IN
        SELECT l.book_id, l.account, sum(greatest(l.amount, 0)) AS debit, sum(greatest(-l.amount, 0)) AS credit
          FROM ledger_private.hold_leg AS l
         WHERE l.hold_id = p_hold_id
         GROUP BY l.book_id, l.account
         ORDER BY l.account
    LOOP
        -- by code, as post() finds an account (its unique index: no scan of the table under SSI)
        UPDATE ledger_private.account AS a
           SET held_debit = ledger_private.add_checked(a.held_debit, p_sign * v_g.debit, a.code),
               held_credit = ledger_private.add_checked(a.held_credit, p_sign * v_g.credit, a.code),
               held_until = CASE WHEN p_sign > 0 AND a.held_debit = 0 AND a.held_credit = 0 THEN p_expires_at
                                 WHEN p_sign > 0 THEN least(a.held_until, p_expires_at)
                                 WHEN a.held_debit = v_g.debit AND a.held_credit = v_g.credit THEN NULL
                                 ELSE a.held_until END
         WHERE a.book_id = v_g.book_id AND a.code = v_g.account;
    END LOOP;
END
$$;
COMMENT ON FUNCTION ledger_private.adjust_held(bigint, integer, timestamptz) IS
    'Adds (1) or removes (-1) a hold''s legs to/from its accounts'' held_debit/held_credit, in code order.';

-- The error of an unknown hold (LD220), one home for capture, void and the reads.
CREATE FUNCTION ledger_private.raise_unknown_hold(p_hold bigint, p_book text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    RAISE EXCEPTION 'unknown hold %', coalesce(p_hold::text, 'NULL')
        USING ERRCODE = 'LD220', DETAIL = json_build_object('hold_id', p_hold, 'book', left(p_book, 200))::text,
              HINT = 'A hold id is returned by ledger.hold_entry().';
END
$$;
COMMENT ON FUNCTION ledger_private.raise_unknown_hold(bigint, text) IS 'Raises LD220 unknown_hold.';

-- The error for a hold that is already resolved, or expired, when a capture or a void of it is asked for:
-- LD221 voided, LD222 captured (a second capture), LD224 captured (a void after the capture), LD223 expired.
CREATE FUNCTION ledger_private.raise_hold_resolved(p_hold bigint, p_kind text, p_action text, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_detail text := json_build_object('hold_id', p_hold, 'resolution', p_kind, 'resolved_at', p_at)::text;
BEGIN
    IF p_kind = 'voided' THEN
        RAISE EXCEPTION 'hold % was voided at %; it cannot be %', p_hold, p_at, p_action
            USING ERRCODE = 'LD221', DETAIL = v_detail, HINT = 'A voided hold stays voided: place a new hold.';
    ELSIF p_kind = 'expired' THEN
        RAISE EXCEPTION 'hold % expired at %; it cannot be %', p_hold, p_at, p_action
            USING ERRCODE = 'LD223', DETAIL = v_detail, HINT = 'An expired hold reserves nothing: place a new hold.';
    ELSIF p_action = 'captured' THEN
        RAISE EXCEPTION 'hold % was already captured at %', p_hold, p_at
            USING ERRCODE = 'LD222', DETAIL = v_detail,
                  HINT = 'A hold is captured once; a replay must use the capture''s idempotency key.';
    ELSE
        RAISE EXCEPTION 'hold % was captured at %; it cannot be voided', p_hold, p_at
            USING ERRCODE = 'LD224', DETAIL = v_detail,
                  HINT = 'Reverse the capture''s entry with ledger.reverse_entry() instead.';
    END IF;
END
$$;
COMMENT ON FUNCTION ledger_private.raise_hold_resolved(bigint, text, text, timestamptz) IS
    'Raises LD221 (voided), LD222 (second capture), LD223 (expired) or LD224 (void after capture).';

CREATE FUNCTION ledger.hold_entry(
    p_idempotency_key text,
    p_legs jsonb,
    p_description text DEFAULT NULL,
    p_metadata jsonb DEFAULT NULL,
    p_effective_date date DEFAULT NULL,
    p_expires_at timestamptz DEFAULT NULL,
    p_book text DEFAULT 'default',
    OUT status text,
    OUT hold_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT expires_at timestamptz,
    OUT available jsonb,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET lock_timeout = '2s'
AS $$
DECLARE
    v_book_id integer;
    v_closed date;
    v_n integer;
    v_leg jsonb;
    v_codes text[];
    v_amounts bigint[];
    v_currencies text[];
    v_ids bigint[];
    v_gcodes text[];
    v_norm jsonb := '[]'::jsonb;
    v_metadata jsonb;
    v_hash bytea;
    v_refusal ledger_private.refusal;
    v_old ledger_private.hold;
    v_date date;
    v_g record;
    v_acc record;
    v_held record;
    v_normal bigint;
    v_limit_error json;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.hold_entry');
    v_book_id := ledger_private.book_id(p_book);
    SELECT b.closed_through INTO v_closed FROM ledger_private.book AS b WHERE b.book_id = v_book_id;

    -- 1. The request by itself: the posting core's checks, in its order.
    PERFORM ledger_private.raise_invalid_request(p_idempotency_key, p_description, p_effective_date, p_legs, 100);
    v_n := jsonb_array_length(p_legs);
    FOR v_i IN 1 .. v_n LOOP
        v_leg := p_legs -> (v_i - 1);
        PERFORM ledger_private.raise_invalid_leg(v_leg, v_i);
        v_codes := v_codes || (v_leg ->> 'account');
        v_amounts := v_amounts || (v_leg ->> 'amount')::numeric::bigint;
        v_currencies := v_currencies || (v_leg ->> 'currency');
        v_norm := v_norm || jsonb_build_array(jsonb_build_array(v_leg ->> 'account', v_amounts[v_i]::text,
                                                                v_leg ->> 'currency'));
    END LOOP;
    PERFORM ledger_private.raise_if_unbalanced(v_currencies, v_amounts);
    v_metadata := ledger_private.checked_metadata(p_metadata, 'hold');
    IF NOT isfinite(p_expires_at) THEN
        RAISE EXCEPTION 'expiry % is not a point in time', p_expires_at
            USING ERRCODE = 'LD120', DETAIL = json_build_object('argument', 'expires_at')::text,
                  HINT = 'Omit the expiry for a hold that lasts until it is captured or voided.';
    END IF;
    -- the expiry as an epoch, so that the hash does not depend on the session's time zone
    v_hash := sha256(convert_to(jsonb_build_array('hold', v_norm, p_description, v_metadata, p_effective_date,
                                                  extract(epoch FROM p_expires_at)::text)::text, 'UTF8'));

    -- 2. Idempotency: a recorded refusal (below: the hold key's unique index).
    SELECT r.* INTO v_refusal FROM ledger_private.recorded_refusals(v_book_id, ARRAY[p_idempotency_key]) AS r;
    IF v_refusal.book_id IS NOT NULL THEN
        IF v_refusal.request_hash <> v_hash THEN
            RAISE EXCEPTION 'idempotency key % was already used for a request that was refused (%), with a different request',
                quote_literal(left(p_idempotency_key, 100)), v_refusal.sqlstate
                USING ERRCODE = 'LD205',
                      DETAIL = json_build_object('idempotency_key', p_idempotency_key, 'refused', v_refusal.sqlstate)::text,
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
    -- 3-5 in a subtransaction: a refusal rolls back what they wrote and is recorded instead.
    BEGIN
        -- the key's unique index decides, as in post(): no read before the insert (it would take an SSI predicate
        -- lock on the index page every concurrent hold inserts into); only a replay reads
        INSERT INTO ledger_private.hold AS h
               (book_id, idempotency_key, request_hash, description, metadata, effective_date, expires_at)
        VALUES (v_book_id, p_idempotency_key, v_hash, p_description, v_metadata,
                coalesce(p_effective_date, (now() AT TIME ZONE 'UTC')::date), p_expires_at)
        ON CONFLICT (book_id, idempotency_key) DO NOTHING
        RETURNING h.hold_id, h.recorded_at, h.expires_at, h.effective_date
             INTO hold_entry.hold_id, hold_entry.recorded_at, hold_entry.expires_at, v_date;
        IF hold_entry.hold_id IS NULL THEN
            SELECT h.* INTO v_old FROM ledger_private.hold AS h
             WHERE h.book_id = v_book_id AND h.idempotency_key = p_idempotency_key;
            IF v_old.request_hash <> v_hash THEN
                RAISE EXCEPTION 'idempotency key % was already used for hold % with a different request',
                    quote_literal(left(p_idempotency_key, 100)), v_old.hold_id
                    USING ERRCODE = 'LD205',
                          DETAIL = json_build_object('idempotency_key', p_idempotency_key, 'hold_id', v_old.hold_id)::text,
                          HINT = 'A replay must repeat the original request exactly; a new request needs a new key.';
            END IF;
            status := 'replayed';
            hold_id := v_old.hold_id;
            created := false;
            recorded_at := v_old.recorded_at;
            expires_at := v_old.expires_at;
            RETURN;
        END IF;
        -- a new hold must expire in the future (checked after the replay, which an expiry since then must not
        -- break; LD120 raises and leaves the key unused)
        IF p_expires_at <= now() THEN
            RAISE EXCEPTION 'expiry % is not in the future', p_expires_at
                USING ERRCODE = 'LD120', DETAIL = json_build_object('argument', 'expires_at', 'now', now())::text,
                      HINT = 'A hold expires after the transaction that places it.';
        END IF;
        created := true;
        IF v_date <= v_closed THEN
            PERFORM ledger_private.raise_period_closed(v_book_id, v_date, v_closed);
        END IF;
        available := '{}'::jsonb;

        -- 3. The accounts, one UPDATE each in code order: reserve, then the limit rule on available balances.
        FOR v_g IN
            SELECT l.code, sum(greatest(l.amount, 0)) AS debit, sum(greatest(-l.amount, 0)) AS credit,
                   min(l.currency) AS cur_min, max(l.currency) AS cur_max, min(l.leg)::integer AS leg
              FROM unnest(v_codes, v_amounts, v_currencies) WITH ORDINALITY AS l(code, amount, currency, leg)
             GROUP BY l.code ORDER BY l.code
        LOOP
            UPDATE ledger_private.account AS a
               SET held_debit = ledger_private.add_checked(a.held_debit, v_g.debit, a.code),
                   held_credit = ledger_private.add_checked(a.held_credit, v_g.credit, a.code),
                   held_until = CASE WHEN a.held_debit = 0 AND a.held_credit = 0 THEN p_expires_at
                                     ELSE least(a.held_until, p_expires_at) END
             WHERE a.book_id = v_book_id AND a.code = v_g.code AND NOT a.deferred
            RETURNING a.account_id, a.type, a.currency, a.status, a.lower_limit, a.upper_limit, a.balance,
                      a.held_debit, a.held_credit, a.held_until
                 INTO v_acc;
            IF NOT FOUND THEN
                IF EXISTS (SELECT FROM ledger_private.account AS a
                            WHERE a.book_id = v_book_id AND a.code = v_g.code AND a.deferred) THEN
                    RAISE EXCEPTION 'account % is deferred (hot): it takes no holds', quote_literal(v_g.code)
                        USING ERRCODE = 'LD225', DETAIL = json_build_object('account', v_g.code, 'leg', v_g.leg)::text,
                              HINT = 'A deferred account''s balance is not read on the write path, so nothing can '
                                     'be reserved against it: hold on its counterparts only, or post directly.';
                END IF;
            END IF;
            IF v_acc.account_id IS NULL OR v_acc.status <> 'open'
               OR v_g.cur_min <> v_acc.currency OR v_g.cur_max <> v_acc.currency THEN
                PERFORM ledger_private.raise_account_error(p_book, v_g.code, v_g.leg, v_acc.account_id IS NOT NULL,
                                                           v_acc.status, v_acc.currency, v_g.cur_min, v_g.cur_max);
            END IF;
            v_normal := ledger_private.normal_balance(v_acc.type, v_acc.balance);
            IF v_limit_error IS NULL AND (v_acc.lower_limit IS NOT NULL OR v_acc.upper_limit IS NOT NULL) THEN
                v_limit_error := ledger_private.held_limit_error(v_book_id, v_acc.account_id, v_g.code, v_acc.type,
                                                                 v_acc.lower_limit, v_acc.upper_limit,
                                                                 v_acc.held_debit, v_acc.held_credit,
                                                                 v_acc.held_until, v_normal, v_g.leg);
            END IF;
            SELECT h.down, h.up INTO v_held
              FROM ledger_private.held_amounts(v_book_id, v_acc.account_id, v_acc.type, v_acc.held_debit,
                                               v_acc.held_credit, v_acc.held_until) AS h;
            available := available || jsonb_build_object(v_g.code, v_normal - v_held.down);
            v_ids := v_ids || v_acc.account_id;
            v_gcodes := v_gcodes || v_g.code;
        END LOOP;
        IF v_limit_error IS NOT NULL THEN
            PERFORM ledger_private.raise_limit_exceeded(v_limit_error);
        END IF;

        -- 4. The legs, as requested.
        INSERT INTO ledger_private.hold_leg (hold_id, leg, book_id, account_id, account, amount, currency)
        SELECT hold_entry.hold_id, l.leg, v_book_id, a.account_id, l.code, l.amount, l.currency
          FROM unnest(v_codes, v_amounts, v_currencies) WITH ORDINALITY AS l(code, amount, currency, leg)
          JOIN unnest(v_gcodes, v_ids) AS a(code, account_id) ON a.code = l.code
         ORDER BY l.leg;
        status := 'held';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error_message = MESSAGE_TEXT,
                                error_detail = PG_EXCEPTION_DETAIL, error_hint = PG_EXCEPTION_HINT;
        IF NOT ledger_private.refusal_is_recorded(error_code) THEN
            RAISE;
        END IF;
        v_refusal := ledger_private.record_refusal(v_book_id, p_idempotency_key, v_hash, error_code,
                                                   error_message, error_detail, error_hint);
        status := 'refused';
        hold_id := NULL;
        created := true;
        recorded_at := v_refusal.recorded_at;
        expires_at := NULL;
        available := NULL;
        error_detail := v_refusal.detail;
        error_hint := v_refusal.hint;
    END;
END
$$;
COMMENT ON FUNCTION ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text) IS
    'Reserve a balanced entry without posting it (a hold), in the caller''s SERIALIZABLE transaction: the request '
    'of post_entry (no assertions) plus p_expires_at (NULL: no expiry). Limits apply to available balances. '
    'Returns status held | replayed | refused (recorded with the key: LD201-LD203, LD211, LD214, LD225), hold_id, '
    'created, recorded_at, expires_at, and the touched accounts'' available normal balances. Raised: LD101-LD109, '
    'LD111, LD120, LD205, LD210, LD301.';

CREATE FUNCTION ledger.capture_hold(
    p_hold bigint,
    p_idempotency_key text,
    p_amount bigint DEFAULT NULL,
    p_book text DEFAULT 'default',
    OUT status text,
    OUT hold_id bigint,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT amount bigint,
    OUT released bigint,
    OUT balances jsonb,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET lock_timeout = '2s'
AS $$
DECLARE
    v_book_id integer;
    v_hold ledger_private.hold;
    v_res ledger_private.hold_resolution;
    v_legs jsonb;
    v_n integer;
    v_held bigint;
    v_metadata jsonb;
    v_r record;
    v_hash bytea;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.capture_hold');
    v_book_id := ledger_private.book_id(p_book);
    IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION 'idempotency key must be 1-255 characters'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'idempotency_key')::text,
                  HINT = 'Use a key that identifies the business event, e.g. ''capture:8431''.';
    END IF;
    IF p_amount <= 0 THEN
        RAISE EXCEPTION 'a capture amount must be positive, got %', p_amount
            USING ERRCODE = 'LD120', DETAIL = json_build_object('argument', 'amount', 'amount', p_amount::text)::text,
                  HINT = 'Omit the amount to capture the whole hold.';
    END IF;
    -- the hold's row lock orders every resolution of it (the resolution's primary key guards the rest)
    SELECT h.* INTO v_hold FROM ledger_private.hold AS h
     WHERE h.hold_id = p_hold AND h.book_id = v_book_id FOR UPDATE;
    IF v_hold.hold_id IS NULL THEN
        PERFORM ledger_private.raise_unknown_hold(p_hold, p_book);
    END IF;
    -- the legs, from the hold alone (no read of account rows)
    SELECT jsonb_agg(jsonb_build_object('account', l.account, 'amount', l.amount, 'currency', l.currency) ORDER BY l.leg),
           count(*), sum(greatest(l.amount, 0))
      INTO v_legs, v_n, v_held
      FROM ledger_private.hold_leg AS l
     WHERE l.hold_id = p_hold;
    IF p_amount IS NOT NULL AND p_amount <> v_held THEN
        IF v_n <> 2 THEN
            RAISE EXCEPTION 'hold % has % legs: only a two-leg hold is captured in part', p_hold, v_n
                USING ERRCODE = 'LD122', DETAIL = json_build_object('hold_id', p_hold, 'legs', v_n)::text,
                      HINT = 'Capture the whole hold (omit the amount), or hold each transfer separately.';
        END IF;
        IF p_amount > v_held THEN
            RAISE EXCEPTION 'capture of % exceeds the % held by hold %', p_amount, v_held, p_hold
                USING ERRCODE = 'LD121',
                      DETAIL = json_build_object('hold_id', p_hold, 'amount', p_amount::text, 'held', v_held::text)::text,
                      HINT = 'Capture at most the held amount; post the difference as a separate entry.';
        END IF;
        SELECT jsonb_agg(jsonb_set(x.leg, '{amount}', to_jsonb(sign((x.leg ->> 'amount')::bigint) * p_amount))
                         ORDER BY x.i)
          INTO v_legs FROM jsonb_array_elements(v_legs) WITH ORDINALITY AS x(leg, i);
    END IF;
    v_metadata := v_hold.metadata || jsonb_build_object('hold_id', p_hold);
    hold_id := p_hold;

    -- A key with a recorded refusal: the posting core returns it (or LD205), whatever became of the hold since.
    IF EXISTS (SELECT FROM ledger_private.recorded_refusals(v_book_id, ARRAY[p_idempotency_key])) THEN
        v_r := ledger_private.post(p_book, p_idempotency_key, v_legs, v_hold.description, v_metadata, NULL, NULL, NULL);
    ELSE
        -- In a subtransaction: a refusal of the posting core undoes the resolution and the release (the hold
        -- stays reserved, unresolved) and is recorded again after it, with the key.
        BEGIN
            -- The resolution first, as the key decides in post(): its primary key (the hold) and key index detect a
            -- resolved hold or a used key without a read before the insert; only a conflict reads.
            INSERT INTO ledger_private.hold_resolution AS r (hold_id, book_id, kind, idempotency_key, amount, resolved_at)
            VALUES (p_hold, v_book_id, 'captured', p_idempotency_key, coalesce(p_amount, v_held), now())
            ON CONFLICT DO NOTHING
            RETURNING r.hold_id INTO v_res.hold_id;
            IF v_res.hold_id IS NULL THEN
                SELECT r.* INTO v_res FROM ledger_private.hold_resolution AS r WHERE r.hold_id = p_hold;
                IF v_res.hold_id IS NULL THEN
                    RAISE EXCEPTION 'idempotency key % was already used to resolve another hold',
                        quote_literal(left(p_idempotency_key, 100))
                        USING ERRCODE = 'LD205', DETAIL = json_build_object('idempotency_key', p_idempotency_key)::text,
                              HINT = 'A replay must repeat the original request exactly; a new request needs a new key.';
                END IF;
                IF v_res.kind <> 'captured' OR v_res.idempotency_key <> p_idempotency_key THEN
                    PERFORM ledger_private.raise_hold_resolved(p_hold, v_res.kind, 'captured', v_res.resolved_at);
                END IF;
                -- a replay of this capture: the posting core replays its entry (LD205 for another amount)
                v_r := ledger_private.post(p_book, p_idempotency_key, v_legs, v_hold.description, v_metadata,
                                           NULL, NULL, NULL);
            ELSE
                IF v_hold.expires_at <= now() THEN
                    PERFORM ledger_private.raise_hold_resolved(p_hold, 'expired', 'captured', v_hold.expires_at);
                END IF;
                -- release the reservation, so that the limit rule does not count the hold twice
                PERFORM ledger_private.adjust_held(p_hold, -1, v_hold.expires_at);
                v_r := ledger_private.post(p_book, p_idempotency_key, v_legs, v_hold.description, v_metadata,
                                           NULL, NULL, NULL);
                IF v_r.status = 'replayed' THEN
                    -- the key belongs to an entry of the same request posted without this hold
                    RAISE EXCEPTION 'idempotency key % was already used for entry %',
                        quote_literal(left(p_idempotency_key, 100)), v_r.entry_id
                        USING ERRCODE = 'LD205',
                              DETAIL = json_build_object('idempotency_key', p_idempotency_key,
                                                         'entry_id', v_r.entry_id)::text,
                              HINT = 'A capture needs a key of its own.';
                END IF;
                IF v_r.status = 'refused' THEN
                    SELECT r.request_hash INTO v_hash FROM ledger_private.refusal AS r
                     WHERE r.book_id = v_book_id AND r.idempotency_key = p_idempotency_key;
                    -- to the handler below (never leaves this function)
                    RAISE EXCEPTION USING ERRCODE = 'raise_exception', MESSAGE = 'capture refused: undo the release';
                END IF;
            END IF;
        EXCEPTION WHEN raise_exception THEN
            PERFORM ledger_private.record_refusal(v_book_id, p_idempotency_key, v_hash, v_r.error_code,
                                                  v_r.error_message, v_r.error_detail, v_r.error_hint);
        END;
    END IF;
    status := v_r.status;
    entry_id := v_r.entry_id;
    created := v_r.created;
    recorded_at := v_r.recorded_at;
    balances := v_r.balances;
    error_code := v_r.error_code;
    error_message := v_r.error_message;
    error_detail := v_r.error_detail;
    error_hint := v_r.error_hint;
    IF status = 'posted' THEN
        amount := coalesce(p_amount, v_held);
        released := v_held - amount;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.capture_hold(bigint, text, bigint, text) IS
    'Post a hold as an entry (key p_idempotency_key, the hold''s legs, description and metadata plus hold_id; '
    'dated today): all of it, or p_amount of a two-leg hold (the rest is released). status posted | replayed | '
    'refused (the posting core''s recorded refusal; the hold stays reserved), entry_id, amount and released (now), '
    'balances. Raised: LD101, LD120, LD121, LD122, LD205, LD210, LD220-LD223, LD301.';

CREATE FUNCTION ledger.void_hold(
    p_hold bigint,
    p_idempotency_key text,
    p_book text DEFAULT 'default',
    OUT status text,
    OUT hold_id bigint,
    OUT created boolean,
    OUT resolved_at timestamptz,
    OUT released jsonb
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET lock_timeout = '2s'
AS $$
DECLARE
    v_book_id integer;
    v_hold ledger_private.hold;
    v_res ledger_private.hold_resolution;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.void_hold');
    v_book_id := ledger_private.book_id(p_book);
    IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION 'idempotency key must be 1-255 characters'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'idempotency_key')::text,
                  HINT = 'Use a key that identifies the business event, e.g. ''void:8431''.';
    END IF;
    SELECT h.* INTO v_hold FROM ledger_private.hold AS h
     WHERE h.hold_id = p_hold AND h.book_id = v_book_id FOR UPDATE;
    IF v_hold.hold_id IS NULL THEN
        PERFORM ledger_private.raise_unknown_hold(p_hold, p_book);
    END IF;
    hold_id := p_hold;
    -- the resolution first (see capture_hold): only a conflict reads
    INSERT INTO ledger_private.hold_resolution AS r (hold_id, book_id, kind, idempotency_key, resolved_at)
    VALUES (p_hold, v_book_id, 'voided', p_idempotency_key, now())
    ON CONFLICT DO NOTHING
    RETURNING r.hold_id INTO v_res.hold_id;
    IF v_res.hold_id IS NULL THEN
        SELECT r.* INTO v_res FROM ledger_private.hold_resolution AS r WHERE r.hold_id = p_hold;
        IF v_res.hold_id IS NULL THEN
            RAISE EXCEPTION 'idempotency key % was already used to resolve another hold',
                quote_literal(left(p_idempotency_key, 100))
                USING ERRCODE = 'LD205', DETAIL = json_build_object('idempotency_key', p_idempotency_key)::text,
                      HINT = 'A replay must repeat the original request exactly; a new request needs a new key.';
        END IF;
        IF v_res.kind <> 'voided' OR v_res.idempotency_key <> p_idempotency_key THEN
            PERFORM ledger_private.raise_hold_resolved(p_hold, v_res.kind, 'voided', v_res.resolved_at);
        END IF;
        status := 'replayed';
        created := false;
        resolved_at := v_res.resolved_at;
        RETURN;
    END IF;
    IF v_hold.expires_at <= now() THEN
        PERFORM ledger_private.raise_hold_resolved(p_hold, 'expired', 'voided', v_hold.expires_at);
    END IF;
    PERFORM ledger_private.adjust_held(p_hold, -1, v_hold.expires_at);
    status := 'voided';
    created := true;
    resolved_at := now();
    SELECT jsonb_object_agg(l.account, l.amount) INTO released
      FROM ledger_private.hold_leg AS l WHERE l.hold_id = p_hold;
END
$$;
COMMENT ON FUNCTION ledger.void_hold(bigint, text, text) IS
    'Release a hold without posting it. status voided | replayed (the same key again), hold_id, created, '
    'resolved_at, released (account -> amount; NULL on a replay). Raised: LD101, LD205, LD210, LD220, LD221, '
    'LD223, LD224, LD301.';

-- The sweeper: records the expiry of up to p_max expired, unresolved holds of a book (oldest expiry first) and
-- releases their counters. Correctness never waits for it: every read and limit check already treats an
-- expired hold as released. Holds another transaction has locked (a capture or void in progress) are skipped.
CREATE FUNCTION ledger.expire_holds(p_book text DEFAULT 'default', p_max integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET lock_timeout = '2s'
AS $$
DECLARE
    v_book_id integer;
    v_h record;
    v_n integer := 0;
    v_swept bigint[] := '{}'::bigint[];
    v_expiries timestamptz[];
    v_code text;
BEGIN
    PERFORM ledger_private.require_serializable('ledger.expire_holds');
    v_book_id := ledger_private.book_id(p_book);
    IF p_max IS NULL OR p_max < 1 THEN
        RAISE EXCEPTION 'p_max must be a positive number of holds'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'max')::text;
    END IF;
    -- the holds first (a hold being resolved elsewhere is skipped, never waited for), then all their accounts in
    -- code order (lock_accounts()): hold by hold, the sweeper would lock accounts out of that order
    SELECT coalesce(array_agg(x.hold_id ORDER BY x.expires_at, x.hold_id), '{}'),
           coalesce(array_agg(x.expires_at ORDER BY x.expires_at, x.hold_id), '{}')
      INTO v_swept, v_expiries
      FROM (SELECT h.hold_id, h.expires_at FROM ledger_private.hold AS h
             WHERE h.book_id = v_book_id AND h.expires_at <= now()
               AND NOT EXISTS (SELECT FROM ledger_private.hold_resolution AS r WHERE r.hold_id = h.hold_id)
             ORDER BY h.expires_at, h.hold_id
             LIMIT p_max
               FOR UPDATE OF h SKIP LOCKED) AS x;
    PERFORM ledger_private.lock_accounts(v_book_id, ARRAY(
        SELECT l.account FROM ledger_private.hold_leg AS l WHERE l.hold_id = ANY (v_swept)));
    FOR v_h IN SELECT s.hold_id, s.expires_at FROM unnest(v_swept, v_expiries) AS s(hold_id, expires_at) LOOP
        PERFORM ledger_private.adjust_held(v_h.hold_id, -1, v_h.expires_at);
        INSERT INTO ledger_private.hold_resolution (hold_id, book_id, kind, resolved_at)
        VALUES (v_h.hold_id, v_book_id, 'expired', v_h.expires_at);
        v_n := v_n + 1;
    END LOOP;
    -- held_until of the accounts concerned: the earliest expiry of their holds still unresolved (it only ever moved
    -- earlier), so that their limit checks read the counters alone again; accounts in code order
    FOR v_code IN
        SELECT DISTINCT l.account FROM ledger_private.hold_leg AS l WHERE l.hold_id = ANY (v_swept) ORDER BY l.account
    LOOP
        UPDATE ledger_private.account AS a
           SET held_until = (SELECT min(h.expires_at)
                               FROM ledger_private.hold_leg AS l
                               JOIN ledger_private.hold AS h ON h.hold_id = l.hold_id
                              WHERE l.book_id = a.book_id AND l.account_id = a.account_id
                                AND NOT EXISTS (SELECT FROM ledger_private.hold_resolution AS r
                                                 WHERE r.hold_id = l.hold_id))
         WHERE a.book_id = v_book_id AND a.code = v_code AND a.held_until IS NOT NULL;
    END LOOP;
    RETURN v_n;
END
$$;
COMMENT ON FUNCTION ledger.expire_holds(text, integer) IS
    'Record the expiry of up to p_max expired, unresolved holds (resolution expired, resolved_at = the expiry) and '
    'release their reservations; returns how many. Errors: LD101, LD210, LD301.';

CREATE FUNCTION ledger.get_hold(
    p_hold bigint,
    p_book text DEFAULT 'default',
    OUT hold_id bigint,
    OUT idempotency_key text,
    OUT status text,
    OUT legs jsonb,
    OUT amount bigint,
    OUT description text,
    OUT metadata jsonb,
    OUT effective_date date,
    OUT recorded_at timestamptz,
    OUT expires_at timestamptz,
    OUT resolved_at timestamptz,
    OUT resolution_key text,
    OUT captured_amount bigint,
    OUT entry_id bigint
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    SELECT h.hold_id, h.idempotency_key,
           coalesce(r.kind, CASE WHEN h.expires_at <= now() THEN 'expired' ELSE 'pending' END),
           (SELECT jsonb_agg(jsonb_build_object('account', l.account, 'amount', l.amount, 'currency', l.currency)
                             ORDER BY l.leg)
              FROM ledger_private.hold_leg AS l
             WHERE l.hold_id = h.hold_id),
           (SELECT sum(greatest(l.amount, 0)) FROM ledger_private.hold_leg AS l WHERE l.hold_id = h.hold_id),
           h.description, h.metadata, h.effective_date, h.recorded_at, h.expires_at,
           coalesce(r.resolved_at, CASE WHEN h.expires_at <= now() THEN h.expires_at END),
           r.idempotency_key, r.amount,
           (SELECT e.entry_id FROM ledger_private.entry AS e
             WHERE r.kind = 'captured' AND e.book_id = h.book_id AND e.idempotency_key = r.idempotency_key)
      INTO get_hold.hold_id, get_hold.idempotency_key, get_hold.status, get_hold.legs, get_hold.amount,
           get_hold.description, get_hold.metadata, get_hold.effective_date, get_hold.recorded_at,
           get_hold.expires_at, get_hold.resolved_at, get_hold.resolution_key, get_hold.captured_amount,
           get_hold.entry_id
      FROM ledger_private.hold AS h
      LEFT JOIN ledger_private.hold_resolution AS r ON r.hold_id = h.hold_id
     WHERE h.hold_id = p_hold AND h.book_id = ledger_private.book_id(p_book);
    IF get_hold.hold_id IS NULL THEN
        PERFORM ledger_private.raise_unknown_hold(p_hold, p_book);
    END IF;
END
$$;
COMMENT ON FUNCTION ledger.get_hold(bigint, text) IS
    'One hold: status pending | captured | voided | expired (an expiry counts from expires_at, recorded or not), '
    'legs, amount (sum of its debits), and its resolution. Errors: LD210, LD220.';

-- Posted, pending and available balances of an account, now.
CREATE FUNCTION ledger.get_available(
    p_account text,
    p_book text DEFAULT 'default',
    OUT code text,
    OUT currency text,
    OUT balance bigint,
    OUT pending_debit bigint,
    OUT pending_credit bigint,
    OUT available bigint,
    OUT lower_limit bigint,
    OUT upper_limit bigint
)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_b record;
    v_book_id integer := ledger_private.book_id(p_book);
BEGIN
    SELECT b.* INTO v_b FROM ledger.get_balance(p_account, p_book) AS b;  -- LD201 for an unknown account
    SELECT coalesce(sum(greatest(l.amount, 0)), 0), coalesce(sum(greatest(-l.amount, 0)), 0)
      INTO pending_debit, pending_credit
      FROM ledger_private.outstanding_hold_legs(v_book_id, v_b.account_id, now()) AS l;
    code := v_b.code;
    currency := v_b.currency;
    balance := v_b.balance;
    available := balance - CASE WHEN v_b.type IN ('asset', 'expense') THEN pending_credit ELSE pending_debit END;
    lower_limit := v_b.lower_limit;
    upper_limit := v_b.upper_limit;
END
$$;
COMMENT ON FUNCTION ledger.get_available(text, text) IS
    'An account''s posted normal balance, pending debits and credits of its outstanding holds, and available '
    'balance (normal balance minus what its holds would take away), now. Errors: LD201, LD210.';

-- Pending amounts per account at a point in time (the month-end report's pending at period end).
CREATE FUNCTION ledger.pending_as_of(p_at timestamptz, p_book text DEFAULT 'default')
RETURNS TABLE (code text, currency text, pending_debit bigint, pending_credit bigint, holds bigint)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
BEGIN
    IF p_at IS NULL OR NOT isfinite(p_at) THEN
        RAISE EXCEPTION 'p_at must be a point in time'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'at')::text;
    END IF;
    RETURN QUERY
    SELECT a.code, a.currency, sum(greatest(l.amount, 0))::bigint, sum(greatest(-l.amount, 0))::bigint,
           count(DISTINCT l.hold_id)
      FROM ledger_private.outstanding_hold_legs(ledger_private.book_id(p_book), NULL, p_at) AS l
      JOIN ledger_private.account AS a ON a.account_id = l.account_id
     GROUP BY a.code, a.currency
     ORDER BY a.code;
END
$$;
COMMENT ON FUNCTION ledger.pending_as_of(timestamptz, text) IS
    'Per account with holds outstanding at p_at (recorded by then, neither resolved nor expired by then): pending '
    'debits, pending credits and the number of holds. Errors: LD101, LD210.';

-- The month-end report gains the pending amounts at the period's end (its other columns unchanged).
DROP FUNCTION ledger.month_end_report(date, date, text);
CREATE FUNCTION ledger.month_end_report(
    p_from date,
    p_through date,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (account text, currency text, type text, opening numeric, debits numeric, credits numeric,
               closing numeric, final boolean, pending_debit numeric, pending_credit numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
AS $$
DECLARE
    v_book_id integer := ledger_private.book_id(p_book);
    v_final boolean;
    -- the period's end (midnight UTC after p_through), or now for a period that has not ended
    v_end timestamptz := least(now(), (p_through + 1)::timestamp AT TIME ZONE 'UTC');
BEGIN
    PERFORM ledger_private.raise_if_bad_range(p_from, p_through);
    v_final := coalesce(p_through <= ledger_private.closed_through(v_book_id), false);
    RETURN QUERY
    -- the accounts' holds outstanding at the period's end, per side
    WITH h AS (
        SELECT l.account_id, sum(greatest(l.amount, 0)) AS debit, sum(greatest(-l.amount, 0)) AS credit
          FROM ledger_private.outstanding_hold_legs(v_book_id, NULL, v_end) AS l
         GROUP BY l.account_id
    )
    SELECT a.code, a.currency, a.type,
           CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END * sum(x.opening),
           sum(x.debits), sum(x.credits),
           CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END
               * (sum(x.opening) + sum(x.debits) - sum(x.credits)),
           v_final,
           coalesce(max(h.debit), 0), coalesce(max(h.credit), 0)
      FROM (SELECT o.account_id, o.balance AS opening, 0::numeric AS debits, 0::numeric AS credits
              FROM ledger_private.balances_as_of(v_book_id, p_from - 1) AS o
            UNION ALL
            SELECT p.account_id, 0, coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0),
                   coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)
              FROM ledger_private.entry AS e
              JOIN ledger_private.posting AS p ON p.book_id = e.book_id AND p.entry_id = e.entry_id
             WHERE e.book_id = v_book_id AND e.effective_date BETWEEN p_from AND p_through
             GROUP BY p.account_id
            UNION ALL
            -- an account with holds outstanding at the end has a row, postings or not
            SELECT h.account_id, 0, 0, 0 FROM h) AS x
      JOIN ledger_private.account AS a ON a.book_id = v_book_id AND a.account_id = x.account_id
      LEFT JOIN h ON h.account_id = a.account_id
     GROUP BY a.account_id, a.code, a.currency, a.type
     ORDER BY a.currency, a.code;
END
$$;
COMMENT ON FUNCTION ledger.month_end_report(date, date, text) IS
    'Per account with postings dated up to p_through or holds outstanding at the period''s end: opening normal '
    'balance (dated before p_from), debits and credits dated in the period, closing normal balance; final = the '
    'period is closed (the report can no longer change); pending_debit and pending_credit: the legs of its holds '
    'outstanding at the period''s end (midnight UTC after p_through, or now if earlier). Errors: LD101, LD115 '
    'invalid_date_range, LD210.';

REVOKE ALL ON FUNCTION ledger.month_end_report(date, date, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.month_end_report(date, date, text) TO dualbook_app, dualbook_reader;

REVOKE ALL ON FUNCTION ledger_private.outstanding_hold_legs(integer, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.held_amounts(integer, bigint, text, bigint, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.adjust_held(bigint, integer, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_unknown_hold(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.raise_hold_resolved(bigint, text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.capture_hold(bigint, text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.void_hold(bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.expire_holds(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.get_hold(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.get_available(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger.pending_as_of(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.hold_entry(text, jsonb, text, jsonb, date, timestamptz, text),
                          ledger.capture_hold(bigint, text, bigint, text),
                          ledger.void_hold(bigint, text, text),
                          ledger.expire_holds(text, integer),
                          ledger.get_hold(bigint, text),
                          ledger.get_available(text, text),
                          ledger.pending_as_of(timestamptz, text) TO dualbook_app;
GRANT EXECUTE ON FUNCTION ledger.get_hold(bigint, text),
                          ledger.get_available(text, text),
                          ledger.pending_as_of(timestamptz, text) TO dualbook_reader;

COMMIT;
