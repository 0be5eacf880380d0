-- Deploy dualbook:function_post_entries to pg
-- requires: function_post_entries@v0.2.0
-- requires: function_post_entry
-- Batch posting: many entries in one call and one SERIALIZABLE transaction (one commit, one round trip).
-- Each entry has its own idempotency key and its own result. By default a bad entry is rejected alone (its
-- work is undone in a subtransaction) and the others post; with p_atomic the batch is all or nothing and the
-- first failure is raised, naming the entry. Serialization failures (40001/40P01) are never caught: the whole
-- batch is retried by the caller, and replays of its already-posted keys are no-ops.
-- Reworked with post(): an entry refused for a reason in the ledger's state gets status 'refused' and its
-- refusal is recorded with its key (ledger.post_entry's rule); a replay of a refused key gets it again. The
-- set-based path shares post()'s helpers for idempotency (recorded_refusals(), the key's unique index) and limits
-- (within_limits()), checks the 64-bit net of each account's legs in each entry as post() does (LD106), and hands
-- a batch it cannot post entirely to the per-entry path with LD306 (batch_needs_per_entry_path), never a bare
-- P0001.

BEGIN;

-- post_batch_entry returns post()'s new row type.
DROP FUNCTION ledger_private.post_batch_entry(text, jsonb);

SET LOCAL ROLE dualbook_owner;

-- The account rows of a request that writes several entries (or resolves several holds), locked before any is
-- written, in code order: the order ledger.post_entry takes its rows in. Taken one at a time, entry by entry, two
-- such requests over the same accounts could deadlock -- found only after deadlock_timeout (1 s), with every caller
-- queued behind the pair waiting as long. One lookup per code through the account's unique index, in sorted order
-- (a nested loop over the sorted codes locks them in that order; a table scan, even of a small table, would be a
-- predicate lock on all of it under SERIALIZABLE). Deferred accounts are not locked (postings queue to them, and
-- their row is the sequencer's); NULL and unknown codes are skipped: the request's own checks report them.
CREATE FUNCTION ledger_private.lock_accounts(p_book_id integer, p_codes text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET standard_conforming_strings = on
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    PERFORM 1
      FROM (SELECT DISTINCT c.code FROM unnest(p_codes) AS c(code) WHERE c.code IS NOT NULL ORDER BY 1) AS k
     CROSS JOIN LATERAL (SELECT FROM ledger_private.account AS a
                          WHERE a.book_id = p_book_id AND a.code = k.code AND NOT a.deferred
                            FOR NO KEY UPDATE) AS l;
END
$$;
COMMENT ON FUNCTION ledger_private.lock_accounts(integer, text[]) IS
    'Locks the named non-deferred accounts of a book (FOR NO KEY UPDATE) in code order, the order post_entry takes.';

-- The set-based fast path of ledger.post_entries(): the whole batch in four statements instead of one
-- ledger_private.post() call (and one subtransaction) per entry. It only ever takes a batch that the per-entry
-- path would post entirely -- every entry new, well-formed, balanced, on open accounts of its legs' currency,
-- within every limit after each entry in batch order, no assertions -- and then writes exactly the rows that
-- path writes: the same entries (ids in batch order, the same request hash), postings with the same per-account
-- sequence numbers and running balances, the same queued legs of deferred accounts, the same balances returned.
-- Anything else (a replay, a bad entry, a limit hit, an overflow, ...) is not decided here: the function returns
-- NULL before writing anything, or raises after writing and its caller rolls its subtransaction back, and the
-- per-entry path handles the batch with its exact per-entry results and errors. tests/python/test_post_entries_paths.py
-- runs random batches through both paths and compares results and rows.
-- Accounts are locked in code order by the one UPDATE over the batch's accounts (the settings below say why).
CREATE OR REPLACE FUNCTION ledger_private.post_batch_set(
    p_book_id integer,
    p_entries jsonb,
    OUT entry_ids bigint[],
    OUT recorded_at timestamptz,
    OUT balances jsonb[]
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Custom plans (PL/pgSQL's first five executions, and later whenever their estimated cost wins) re-plan these
-- statements on every call, which costs more than a batch of 10 entries; the generic plans are good for every
-- batch size (the arrays are small, the accounts are found by their unique index).
SET plan_cache_mode = force_generic_plan
-- Tables are read through their indexes only. The account UPDATE then locks the batch's accounts in code order
-- whatever the join: the batch's accounts (d, sorted by code) or the account index scanned in code order drive it
-- (a nested loop, a hash join probed by either side, a merge join). A sequential or bitmap scan of a small table
-- would lock them in the table's physical order -- a deadlock with a posting that locks them in code order -- and
-- take a predicate lock on the whole table under SERIALIZABLE.
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    c_bigint_max constant numeric := 9223372036854775807;
    v_n integer := jsonb_array_length(p_entries);
    v_ok boolean;
    v_count integer;
    v_keys text[];
    v_descriptions text[];
    v_metadata jsonb[];
    v_date_texts text[];
    v_dates date[];
    v_hashes bytea[];
    v_l_idx integer[];
    v_l_leg integer[];
    v_l_code text[];
    v_l_amount bigint[];
    v_l_currency text[];
BEGIN
    -- 1. The entries' shape, as post_batch_entry and post check it (reads nothing).
    SELECT bool_and(coalesce(
               jsonb_typeof(x.doc) = 'object'
               AND (x.doc - 'key' - 'legs' - 'description' - 'metadata' - 'effective_date' - 'assertions') = '{}'::jsonb
               AND coalesce(jsonb_typeof(x.doc -> 'assertions'), 'null') = 'null'
               AND jsonb_typeof(x.doc -> 'key') = 'string'
               AND length(x.doc ->> 'key') BETWEEN 1 AND 255
               AND coalesce(jsonb_typeof(x.doc -> 'description'), 'null') IN ('string', 'null')
               AND coalesce(length(x.doc ->> 'description'), 0) <= 1000
               AND (coalesce(jsonb_typeof(x.doc -> 'effective_date'), 'null') = 'null'
                    OR (jsonb_typeof(x.doc -> 'effective_date') = 'string'
                        AND (x.doc ->> 'effective_date') ~ '^\d{4}-\d{2}-\d{2}$'))
               AND coalesce(jsonb_typeof(x.doc -> 'metadata'), 'null') IN ('object', 'null')
               AND octet_length(coalesce(x.doc -> 'metadata', '{}'::jsonb)::text) <= 8192
               -- nests at most 32 levels (checked_metadata(), LD111, decides; deeper goes the per-entry way)
               AND NOT jsonb_path_exists(coalesce(x.doc -> 'metadata', '{}'::jsonb),
                       'strict $.**{32 to last} ? (@.type() == "object" || @.type() == "array")')
               AND jsonb_typeof(x.doc -> 'legs') = 'array'
               AND jsonb_array_length(x.doc -> 'legs') BETWEEN 2 AND 100,
               false)),
           array_agg(x.doc ->> 'key' ORDER BY x.idx),
           array_agg(x.doc ->> 'description' ORDER BY x.idx),
           array_agg(CASE WHEN jsonb_typeof(x.doc -> 'metadata') = 'object' THEN x.doc -> 'metadata'
                          ELSE '{}'::jsonb END ORDER BY x.idx),
           array_agg(x.doc ->> 'effective_date' ORDER BY x.idx)
      INTO v_ok, v_keys, v_descriptions, v_metadata, v_date_texts
      FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS x(doc, idx);
    IF NOT v_ok THEN
        RETURN;
    END IF;
    v_dates := v_date_texts::date[];  -- an impossible date raises: the per-entry path reports it

    -- 2. The legs (reads nothing): shape, integer amounts, balanced per currency; the request hashes.
    -- jsonb_to_recordset reads a leg's fields as text (it raises for a leg that is not an object); one
    -- jsonpath over the batch finds an account or currency that is not a string and unknown fields. An amount
    -- is taken when its text is an integer (a JSON number or string of digits: post() takes both, with the same
    -- value); other spellings post() may accept (1.0, 1e2) go the per-entry way.
    IF jsonb_path_exists(p_entries, '$[*].legs[*] ? (@.account.type() != "string" || @.currency.type() != "string"
                                     || exists(@.keyvalue() ? (@.key != "account" && @.key != "amount"
                                                                && @.key != "currency")))') THEN
        RETURN;
    END IF;
    WITH v AS (
        SELECT x.idx::integer AS idx, y.leg::integer AS leg, y.account AS code, y.currency,
               CASE WHEN y.amount ~ '^-?[0-9]{1,19}$'
                    THEN CASE WHEN y.amount::numeric BETWEEN -c_bigint_max AND c_bigint_max THEN y.amount::bigint END
               END AS amount
          FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS x(doc, idx)
         CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(x.doc -> 'legs') AS (account text, amount text, currency text))
               WITH ORDINALITY AS y(account, amount, currency, leg)
    ), e AS (
        SELECT v.idx, jsonb_agg(jsonb_build_array(v.code, v.amount::text, v.currency) ORDER BY v.leg) AS norm
          FROM v
         GROUP BY v.idx
    )
    SELECT bool_and(v.code IS NOT NULL AND v.currency IS NOT NULL AND v.amount IS NOT NULL AND v.amount <> 0)
           AND NOT EXISTS (SELECT FROM v GROUP BY v.idx, v.currency HAVING sum(v.amount) <> 0),
           (SELECT array_agg(sha256(convert_to(jsonb_build_array(e.norm, v_descriptions[e.idx], v_metadata[e.idx],
                                                                 v_dates[e.idx], NULL::bigint)::text, 'UTF8'))
                             ORDER BY e.idx) FROM e),
           array_agg(v.idx ORDER BY v.idx, v.leg), array_agg(v.leg ORDER BY v.idx, v.leg),
           array_agg(v.code ORDER BY v.idx, v.leg), array_agg(v.amount ORDER BY v.idx, v.leg),
           array_agg(v.currency ORDER BY v.idx, v.leg)
      INTO v_ok, v_hashes, v_l_idx, v_l_leg, v_l_code, v_l_amount, v_l_currency
      FROM v;
    IF NOT v_ok THEN
        RETURN;
    END IF;
    -- A key with a recorded refusal gets it again: the per-entry path returns it.
    IF EXISTS (SELECT FROM ledger_private.recorded_refusals(p_book_id, v_keys)) THEN
        RETURN;
    END IF;
    -- An entry dated into a closed period: post() refuses it (LD214), so the per-entry path decides. One lookup
    -- of the book's close date (read as in post(), through to_jsonb).
    IF EXISTS (SELECT FROM ledger_private.book AS b
                WHERE b.book_id = p_book_id
                  AND (to_jsonb(b) ->> 'closed_through')::date
                      >= (SELECT min(coalesce(d, (now() AT TIME ZONE 'UTC')::date)) FROM unnest(v_dates) AS d)) THEN
        RETURN;
    END IF;

    -- 3. The entries; every key must be new (a replay, or a key twice in the batch, goes the per-entry way).
    WITH ins AS (
        INSERT INTO ledger_private.entry AS e
               (book_id, idempotency_key, request_hash, description, metadata, effective_date, reverses_entry_id)
        SELECT p_book_id, k.key, k.hash, k.description, k.metadata,
               coalesce(k.effective_date, (now() AT TIME ZONE 'UTC')::date), NULL
          FROM unnest(v_keys, v_hashes, v_descriptions, v_metadata, v_dates) WITH ORDINALITY
               AS k(key, hash, description, metadata, effective_date, idx)
         ORDER BY k.idx  -- entry ids in batch order
        ON CONFLICT (book_id, idempotency_key) DO NOTHING
        RETURNING e.entry_id, e.idempotency_key, e.recorded_at
    )
    SELECT array_agg(ins.entry_id ORDER BY k.idx), count(*), min(ins.recorded_at)
      INTO post_batch_set.entry_ids, v_count, post_batch_set.recorded_at
      FROM ins
      JOIN unnest(v_keys) WITH ORDINALITY AS k(key, idx) ON k.key = ins.idempotency_key;
    IF v_count <> v_n THEN
        RAISE EXCEPTION 'post_batch_set: % of % keys are not new', v_n - v_count, v_n
            USING ERRCODE = 'LD306', DETAIL = json_build_object('reason', 'keys', 'keys_taken', v_n - v_count)::text;
    END IF;

    -- 4. Balances (one UPDATE, accounts in code order), postings, queued legs, every check; the result.
    WITH l AS (
        SELECT l.idx, l.leg, l.code, l.amount, l.currency, l.ord
          FROM unnest(v_l_idx, v_l_leg, v_l_code, v_l_amount, v_l_currency) WITH ORDINALITY
               AS l(idx, leg, code, amount, currency, ord)
    ), d AS (
        SELECT l.code, sum(l.amount) AS net, count(*) AS n FROM l GROUP BY l.code ORDER BY l.code
    ), u AS (
        UPDATE ledger_private.account AS a
           SET balance = a.balance + d.net, seq = a.seq + d.n
          FROM d
         WHERE a.book_id = p_book_id AND a.code = d.code AND NOT a.deferred
        RETURNING a.account_id, a.code, a.type, a.currency, a.status, a.lower_limit, a.upper_limit,
                  a.balance, a.seq, false AS deferred,
                  -- a limited account with outstanding holds (ledger.hold_entry()): left to post()'s rule on
                  -- available balances
                  (a.lower_limit IS NOT NULL OR a.upper_limit IS NOT NULL) AND (a.held_debit <> 0 OR a.held_credit <> 0)
                  AS held
    ), acc AS (
        SELECT * FROM u
        UNION ALL
        -- deferred accounts are only read, as post() reads them (their row is the sequencer's)
        SELECT a.account_id, a.code, a.type, a.currency, a.status, a.lower_limit, a.upper_limit,
               a.balance, NULL::bigint, true, false
          FROM ledger_private.account AS a
         WHERE a.book_id = p_book_id AND a.deferred
           AND a.code IN (SELECT d.code FROM d WHERE d.code NOT IN (SELECT u.code FROM u))
    ), x AS (
        -- each leg with its account, and (accounts updated in place) the account's balance and sequence
        -- number just after the leg: the final ones minus what the later legs of the batch add
        SELECT l.idx, l.leg, l.ord, l.code, l.amount, l.currency, acc.account_id, acc.type, acc.deferred,
               acc.status, acc.currency AS account_currency, acc.lower_limit, acc.upper_limit, acc.balance, acc.held,
               acc.balance - coalesce(sum(l.amount) OVER later, 0) AS balance_after,
               acc.seq - count(*) OVER later AS seq_after,
               sum(l.amount) OVER (PARTITION BY l.code, l.idx) AS entry_net,
               row_number() OVER (PARTITION BY l.code, l.idx ORDER BY l.ord DESC) = 1 AS last_in_entry
          FROM l
          LEFT JOIN acc ON acc.code = l.code
        WINDOW later AS (PARTITION BY l.code ORDER BY l.ord ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
    ), p AS (
        INSERT INTO ledger_private.posting
               (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
        SELECT p_book_id, entry_ids[x.idx], x.leg, x.account_id, x.amount, x.currency,
               CASE WHEN NOT x.deferred THEN x.seq_after END, CASE WHEN NOT x.deferred THEN x.balance_after END
          FROM x
         ORDER BY x.ord
    ), q AS (
        INSERT INTO ledger_private.deferred_leg (book_id, account_id, entry_id, leg, amount)
        SELECT p_book_id, x.account_id, entry_ids[x.idx], x.leg, x.amount
          FROM x
         WHERE x.deferred
         ORDER BY x.ord
    ), b AS (
        -- the normal balance of each account updated in place, after each entry that touches it
        SELECT x.idx, jsonb_object_agg(x.code, ledger_private.normal_balance(x.type, x.balance_after::bigint)) AS balances
          FROM x
         WHERE x.last_in_entry AND NOT x.deferred
         GROUP BY x.idx
    )
    SELECT bool_and(coalesce(
               x.account_id IS NOT NULL AND x.status = 'open' AND x.currency = x.account_currency
               AND CASE WHEN x.deferred
                        -- post() checks the stored balance plus the entry's legs on the account
                        THEN abs(x.balance + x.entry_net) <= c_bigint_max
                        ELSE abs(x.balance_after) <= c_bigint_max
                             -- holds on a limited account: the per-entry path checks available balances
                             AND NOT x.held
                             AND (NOT x.last_in_entry
                                  OR ledger_private.within_limits(
                                         ledger_private.normal_balance(x.type, x.balance_after::bigint),
                                         x.lower_limit, x.upper_limit))
                   END
               -- post() refuses an entry whose legs on one account net beyond 64 bits (LD106), whatever the
               -- balance: so does this path, deferred accounts too
               AND abs(x.entry_net) <= c_bigint_max,
               false)),
           (SELECT array_agg(coalesce(b.balances, '{}'::jsonb) ORDER BY i.idx)
              FROM generate_series(1, v_n) AS i(idx) LEFT JOIN b ON b.idx = i.idx)
      INTO v_ok, post_batch_set.balances
      FROM x;
    IF NOT v_ok THEN
        RAISE EXCEPTION 'post_batch_set: the batch needs the per-entry path'
            USING ERRCODE = 'LD306', DETAIL = json_build_object('reason', 'checks')::text;
    END IF;
END
$$;
COMMENT ON FUNCTION ledger_private.post_batch_set(integer, jsonb) IS
    'The set-based fast path of ledger.post_entries(): posts a batch that the per-entry path would post entirely, '
    'with identical rows and results; otherwise returns NULL before writing, or raises LD306 (its caller rolls '
    'back and takes the per-entry path).';

CREATE OR REPLACE FUNCTION ledger.post_entries(
    p_entries jsonb,
    p_atomic boolean DEFAULT false,
    p_book text DEFAULT 'default'
)
RETURNS TABLE (
    idx integer,
    status text,
    entry_id bigint,
    created boolean,
    recorded_at timestamptz,
    balances jsonb,
    error_code text,
    error_message text,
    error_detail text
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max_entries constant integer := 1000;
    c_set_based_from constant integer := 4;
    v_path text;
    v_n integer;
    v_cur integer;
    v_r record;
    v_recorded_at timestamptz;
    v_state text;
    v_message text;
    v_detail text;
    v_hint text;
    v_book_id integer;
    v_fast_ids bigint[];
    v_fast_balances jsonb[];
BEGIN
    PERFORM ledger_private.require_serializable('ledger.post_entries');
    v_book_id := ledger_private.book_id(p_book);
    IF p_atomic IS NULL THEN
        RAISE EXCEPTION 'p_atomic must not be null'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'atomic')::text;
    END IF;
    IF p_entries IS NULL OR jsonb_typeof(p_entries) <> 'array' THEN
        RAISE EXCEPTION 'entries must be a JSON array of {"key", "legs", ...} objects'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'entries')::text;
    END IF;
    v_n := jsonb_array_length(p_entries);
    IF v_n NOT BETWEEN 1 AND c_max_entries THEN
        RAISE EXCEPTION 'a batch has 1 to % entries, got %', c_max_entries, v_n
            USING ERRCODE = 'LD110', DETAIL = json_build_object('entries', v_n, 'limit', c_max_entries)::text;
    END IF;

    -- The set-based path, for a batch that posts entirely (the common case). Its results are collected before
    -- they are returned: rows handed to RETURN QUERY are not taken back when the subtransaction rolls back.
    -- Below c_set_based_from entries the per-entry path costs less (docs/performance.md). The setting
    -- dualbook.post_entries_path = 'set' | 'per-entry' forces one path (tests and benchmarks compare them).
    v_path := coalesce(nullif(current_setting('dualbook.post_entries_path', true), ''), 'auto');
    IF v_path = 'set' OR (v_path = 'auto' AND v_n >= c_set_based_from) THEN
        BEGIN  -- one subtransaction for the whole batch
            SELECT f.entry_ids, f.recorded_at, f.balances INTO v_fast_ids, v_recorded_at, v_fast_balances
              FROM ledger_private.post_batch_set(v_book_id, p_entries) AS f;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE;
            -- what the per-entry path decides (bad data, a constraint, the fast path's own hand-over LD306) falls
            -- back to it; serialization failures, deadlocks, cancels, lock timeouts, resource errors do not
            IF left(v_state, 2) NOT IN ('22', '23') AND v_state <> 'LD306' THEN
                RAISE;
            END IF;
            v_fast_ids := NULL;
        END;
        IF v_fast_ids IS NOT NULL THEN
            RETURN QUERY
                SELECT r.idx::integer, 'posted'::text, r.entry_id, true, v_recorded_at, r.balances,
                       NULL::text, NULL::text, NULL::text
                  FROM unnest(v_fast_ids, v_fast_balances) WITH ORDINALITY AS r(entry_id, balances, idx);
            RETURN;
        END IF;
    END IF;

    -- The per-entry path: each entry through ledger_private.post(), with its own result or error. The batch's
    -- account rows first, in code order (lock_accounts() says why; a rolled-back set-based attempt has released its
    -- locks): entry by entry, two batches over the same accounts could deadlock. A leg's account that is not a
    -- string is skipped here and refused by the checks.
    IF v_n > 1 THEN
        PERFORM ledger_private.lock_accounts(v_book_id, ARRAY(
            SELECT c #>> '{}' FROM jsonb_path_query(p_entries, 'lax $[*].legs[*].account ? (@.type() == "string")') AS c));
    END IF;
    BEGIN
        FOR v_i IN 1 .. v_n LOOP
            v_cur := v_i;
            IF p_atomic THEN
                v_r := ledger_private.post_batch_entry(p_book, p_entries -> (v_i - 1));
                IF v_r.status = 'refused' THEN
                    -- all or nothing: the refusal is raised, and rolled back with the batch (not recorded)
                    RAISE EXCEPTION USING MESSAGE = v_r.error_message, ERRCODE = v_r.error_code,
                                          DETAIL = (v_r.error_detail::jsonb - 'refusal')::text;
                END IF;
            ELSE
                BEGIN  -- a subtransaction per entry: a rejected entry leaves nothing behind
                    v_r := ledger_private.post_batch_entry(p_book, p_entries -> (v_i - 1));
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                            v_detail = PG_EXCEPTION_DETAIL;
                    IF v_state NOT LIKE 'LD%' THEN
                        RAISE;  -- 40001, 40P01, ...: the caller retries the whole batch
                    END IF;
                    -- a rejected entry has no result: not the previous entry's
                    SELECT 'rejected' AS status, NULL::bigint AS entry_id, NULL::boolean AS created,
                           NULL::timestamptz AS recorded_at, NULL::jsonb AS balances, v_state AS error_code,
                           v_message AS error_message, v_detail AS error_detail
                      INTO v_r;
                END;
            END IF;
            idx := v_i;
            status := v_r.status;
            entry_id := v_r.entry_id;
            created := v_r.created;
            recorded_at := v_r.recorded_at;
            balances := v_r.balances;
            error_code := v_r.error_code;
            error_message := v_r.error_message;
            error_detail := v_r.error_detail;
            RETURN NEXT;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL,
                                v_hint = PG_EXCEPTION_HINT;
        IF v_state NOT LIKE 'LD%' THEN
            RAISE;
        END IF;
        RAISE EXCEPTION 'entry %: %', v_cur, v_message
            USING ERRCODE = v_state,
                  DETAIL = (coalesce(v_detail, '{}')::jsonb || jsonb_build_object('entry', v_cur))::text,
                  HINT = coalesce(nullif(v_hint, '') || ' ', '') || 'The batch is all or nothing: nothing was posted.';
    END;
END
$$;
COMMENT ON FUNCTION ledger.post_entries(jsonb, boolean, text) IS
    'Post 1-1000 entries in one call: p_entries = [{"key", "legs", "description"?, "metadata"?, "effective_date"?, '
    '"assertions"?}, ...] with the meaning of ledger.post_entry''s arguments. One row per entry, in order: status '
    'posted | replayed | refused (a refusal recorded with the key, as ledger.post_entry records it) | rejected '
    '(error_code, error_message, error_detail; nothing of it was written, the key stays unused). p_atomic: '
    'all or nothing, the first failure (a refusal too, then not recorded) is raised with "entry" added to its '
    'DETAIL. Errors: LD101, LD110 too_many_entries, LD210, LD301; with p_atomic, any error of post_entry.';

-- One element of a batch -> ledger_private.post (validates the element's shape first).
CREATE FUNCTION ledger_private.post_batch_entry(
    p_book text,
    p_entry jsonb,
    OUT status text,
    OUT entry_id bigint,
    OUT created boolean,
    OUT recorded_at timestamptz,
    OUT balances jsonb,
    OUT error_code text,
    OUT error_message text,
    OUT error_detail text
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_date date;
BEGIN
    IF jsonb_typeof(p_entry) IS DISTINCT FROM 'object'
       OR (p_entry - 'key' - 'legs' - 'description' - 'metadata' - 'effective_date' - 'assertions') <> '{}'::jsonb
       OR jsonb_typeof(p_entry -> 'key') IS DISTINCT FROM 'string'
       OR jsonb_typeof(coalesce(p_entry -> 'description', 'null')) NOT IN ('string', 'null')
       OR jsonb_typeof(coalesce(p_entry -> 'effective_date', 'null')) NOT IN ('string', 'null')
       OR coalesce(p_entry ->> 'effective_date', '2000-01-01') !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RAISE EXCEPTION 'a batch entry is {"key": text, "legs": [...], "description"?: text, "metadata"?: object, '
                        '"effective_date"?: "YYYY-MM-DD", "assertions"?: [...]}'
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'entries')::text;
    END IF;
    BEGIN
        v_date := (p_entry ->> 'effective_date')::date;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        RAISE EXCEPTION 'effective_date % is not a date', quote_literal(p_entry ->> 'effective_date')
            USING ERRCODE = 'LD101', DETAIL = json_build_object('argument', 'effective_date')::text;
    END;
    SELECT r.status, r.entry_id, r.created, r.recorded_at, r.balances, r.error_code, r.error_message, r.error_detail
      INTO post_batch_entry.status, post_batch_entry.entry_id, post_batch_entry.created, post_batch_entry.recorded_at,
           post_batch_entry.balances, post_batch_entry.error_code, post_batch_entry.error_message,
           post_batch_entry.error_detail
      FROM ledger_private.post(p_book, p_entry ->> 'key', p_entry -> 'legs', p_entry ->> 'description',
                               CASE WHEN jsonb_typeof(p_entry -> 'metadata') = 'null' THEN NULL ELSE p_entry -> 'metadata' END,
                               v_date,
                               CASE WHEN jsonb_typeof(p_entry -> 'assertions') = 'null' THEN NULL ELSE p_entry -> 'assertions' END,
                               NULL) AS r;
END
$$;
COMMENT ON FUNCTION ledger_private.post_batch_entry(text, jsonb) IS 'One entry of ledger.post_entries().';

REVOKE ALL ON FUNCTION ledger.post_entries(jsonb, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.post_batch_entry(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.post_batch_set(integer, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION ledger_private.lock_accounts(integer, text[]) FROM PUBLIC;

COMMIT;
