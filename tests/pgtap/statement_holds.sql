-- Statements show holds (change statement_holds): the capture line's hold_id; the account's holds that matter to
-- the period with their state at its end (pending, captured in part with the entry and the amount posted here,
-- voided, expired without the sweeper); a hold placed after the period and one resolved before it are absent;
-- pending amounts at the end by the rule of pending_as_of; holds on the first page only; a deferred account;
-- another book. Past holds are written as hold_entry, capture_hold and void_hold write them, at past times.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(34);

SELECT volatility_is('ledger', 'statement', ARRAY['text', 'date', 'date', 'text', 'integer', 'text'], 'stable',
                     'statement is STABLE');
SELECT is_definer('ledger', 'statement', ARRAY['text', 'date', 'date', 'text', 'integer', 'text'],
                  'statement is SECURITY DEFINER');
SELECT ok((SELECT proconfig @> ARRAY['search_path=pg_catalog, pg_temp', 'standard_conforming_strings=on']
             FROM pg_proc WHERE oid = 'ledger.statement(text, date, date, text, integer, text)'::regprocedure),
          'statement pins search_path and standard_conforming_strings');
SELECT ok(has_function_privilege('dualbook_reader', 'ledger.statement(text, date, date, text, integer, text)', 'execute')
          AND has_function_privilege('dualbook_app', 'ledger.statement(text, date, date, text, integer, text)', 'execute')
          AND NOT has_function_privilege('public', 'ledger.statement(text, date, date, text, integer, text)', 'execute'),
          'the app and the reader execute statement, PUBLIC does not');

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: wallet (no overdraft)');
SELECT ok((ledger.create_account('merchant', 'USD', 'liability')).created, 'setup: merchant');
SELECT ok((ledger.create_account('hot', 'USD', 'liability', p_deferred => true)).created, 'setup: deferred hot');
SELECT ok((ledger.create_book('other')).created, 'setup: book other');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', p_book => 'other')).created, 'setup: other''s wallet');
SELECT is((ledger.post_entry('fund:mar', '[{"account": "cash", "amount": 1000, "currency": "USD"},
            {"account": "wallet", "amount": -1000, "currency": "USD"}]', 'top-up', p_effective_date => '2024-03-01')).status,
          'posted', 'setup: the wallet holds 1000 from 1 March 2024');

-- A two-leg hold wallet -> merchant, placed at p_placed, expiring at p_expires; unresolved ones reserve.
CREATE FUNCTION pg_temp.put_hold(p_key text, p_amount bigint, p_placed timestamptz, p_expires timestamptz,
                                 p_book text DEFAULT 'default', p_to text DEFAULT 'merchant') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO ledger_private.hold (book_id, idempotency_key, request_hash, description, effective_date,
                                     expires_at, recorded_at)
    VALUES (ledger_private.book_id(p_book), p_key, '\x00', 'auth ' || p_key, (p_placed AT TIME ZONE 'UTC')::date,
            p_expires, p_placed)
    RETURNING hold_id INTO v_id;
    INSERT INTO ledger_private.hold_leg (hold_id, leg, book_id, account_id, account, amount, currency)
    SELECT v_id, l.leg, a.book_id, a.account_id, a.code, l.amount, 'USD'
      FROM (VALUES (1, 'wallet', p_amount), (2, p_to, -p_amount)) AS l(leg, code, amount)
      JOIN ledger_private.account AS a ON a.code = l.code AND a.book_id = ledger_private.book_id(p_book);
    PERFORM ledger_private.adjust_held(v_id, 1, p_expires);
    RETURN v_id;
END
$$;
CREATE FUNCTION pg_temp.resolve(p_hold bigint, p_kind text, p_key text, p_amount bigint, p_at timestamptz)
RETURNS void LANGUAGE sql AS $$
    SELECT ledger_private.adjust_held(p_hold, -1, h.expires_at) FROM ledger_private.hold AS h WHERE h.hold_id = p_hold;
    INSERT INTO ledger_private.hold_resolution (hold_id, book_id, kind, idempotency_key, amount, resolved_at)
    SELECT p_hold, h.book_id, p_kind, p_key, p_amount, p_at FROM ledger_private.hold AS h WHERE h.hold_id = p_hold;
$$;

SELECT pg_temp.put_hold('A', 100, '2024-03-10 10:00Z', NULL) AS a \gset
SELECT pg_temp.put_hold('B', 100, '2024-03-05 10:00Z', NULL) AS b \gset
SELECT pg_temp.put_hold('C', 50, '2024-03-06 10:00Z', NULL) AS c \gset
SELECT pg_temp.put_hold('D', 30, '2024-03-07 10:00Z', '2024-03-09 00:00Z') AS d \gset
SELECT pg_temp.put_hold('E', 20, '2024-04-02 10:00Z', NULL) AS e \gset
SELECT pg_temp.put_hold('F', 10, '2024-02-01 10:00Z', NULL) AS f \gset
SELECT pg_temp.put_hold('G', 70, '2024-02-10 10:00Z', '2024-03-15 00:00Z') AS g \gset
SELECT pg_temp.put_hold('X', 5, '2024-03-03 10:00Z', NULL, 'other') AS x \gset
-- B captured in part (40 of 100) on 12 March: the capture's entry has the resolution's key.
SELECT pg_temp.resolve(:b, 'captured', 'cap:B', 40, '2024-03-12 09:00Z');
SELECT entry_id AS cap_b FROM ledger.post_entry('cap:B', '[{"account": "wallet", "amount": 40, "currency": "USD"},
    {"account": "merchant", "amount": -40, "currency": "USD"}]', 'auth B', p_effective_date => '2024-03-12') \gset
-- C voided on 8 March with the key of the top-up entry (keys of voids and entries may coincide).
SELECT pg_temp.resolve(:c, 'voided', 'fund:mar', NULL, '2024-03-08 12:00Z');
-- F voided on 20 February, before the period.
SELECT pg_temp.resolve(:f, 'voided', 'void:F', NULL, '2024-02-20 12:00Z');
-- D and G expired (9 and 15 March) and the sweeper never ran.

-- March: every hold placed by its end and not resolved before its start, in its state at the end.
SELECT results_eq(
    $$SELECT (h ->> 'hold_id')::bigint, h ->> 'idempotency_key', (h ->> 'amount')::bigint, h ->> 'status',
             (h ->> 'resolved_at')::timestamptz, (h ->> 'entry_id')::bigint, (h ->> 'captured_amount')::bigint
        FROM ledger.statement('wallet', '2024-03-01', '2024-03-31') AS s, jsonb_array_elements(s.holds) AS h$$,
    format($$VALUES (%s::bigint, 'A'::text, 100::bigint, 'pending'::text, NULL::timestamptz, NULL::bigint, NULL::bigint),
                    (%s, 'B', 100, 'captured', '2024-03-12 09:00Z', %s, 40),
                    (%s, 'C', 50, 'voided', '2024-03-08 12:00Z', NULL, NULL),
                    (%s, 'D', 30, 'expired', '2024-03-09 00:00Z', NULL, NULL),
                    (%s, 'G', 70, 'expired', '2024-03-15 00:00Z', NULL, NULL)$$, :a, :b, :cap_b, :c, :d, :g),
    'March: A pending, B captured in part (40 of 100), C voided, D and G expired unswept; E (April), F (February) '
    'and the other book''s X absent');
SELECT results_eq($$SELECT pending_debit, pending_credit FROM ledger.statement('wallet', '2024-03-01', '2024-03-31')$$,
                  $$VALUES (100::bigint, 0::bigint)$$, 'pending at the end of March: A''s 100');
SELECT results_eq(
    $$SELECT pending_debit, pending_credit FROM ledger.statement('wallet', '2024-03-01', '2024-03-31')$$,
    $$SELECT pending_debit, pending_credit FROM ledger.pending_as_of('2024-04-01 00:00Z') WHERE code = 'wallet'$$,
    'the pending amounts are pending_as_of at midnight after p_to');
SELECT results_eq(
    $$SELECT (h ->> 'amount')::bigint, (h ->> 'captured_amount')::bigint, s.pending_debit, s.pending_credit
        FROM ledger.statement('merchant', '2024-03-01', '2024-03-31') AS s, jsonb_array_elements(s.holds) AS h
       WHERE h ->> 'idempotency_key' IN ('A', 'B') ORDER BY h ->> 'idempotency_key'$$,
    $$VALUES (-100::bigint, NULL::bigint, 0::bigint, 100::bigint), (-100, -40, 0, 100)$$,
    'the counterpart''s statement: its amounts credit-negative, B''s capture -40 there, a pending credit of 100');
SELECT is((SELECT h -> 'description' FROM ledger.statement('wallet', '2024-03-01', '2024-03-31') AS s,
                  jsonb_array_elements(s.holds) AS h WHERE h ->> 'idempotency_key' = 'D'),
          '"auth D"'::jsonb, 'a hold carries its description');

-- 1-10 March: the state at the end of 10 March.
SELECT results_eq(
    $$SELECT h ->> 'idempotency_key', h ->> 'status', h -> 'entry_id'
        FROM ledger.statement('wallet', '2024-03-01', '2024-03-10') AS s, jsonb_array_elements(s.holds) AS h$$,
    $$VALUES ('A'::text, 'pending'::text, 'null'::jsonb), ('B', 'pending', 'null'), ('C', 'voided', 'null'),
             ('D', 'expired', 'null'), ('G', 'pending', 'null')$$,
    'at the end of 10 March B (captured on the 12th) and G (expiring on the 15th) were pending');
SELECT results_eq($$SELECT pending_debit FROM ledger.statement('wallet', '2024-03-01', '2024-03-10')$$,
                  $$VALUES (270::bigint)$$, 'pending at the end of 10 March: A + B + G = 270');
-- 16-31 March: what was resolved before the 16th is gone.
SELECT results_eq(
    $$SELECT h ->> 'idempotency_key' FROM ledger.statement('wallet', '2024-03-16', '2024-03-31') AS s,
             jsonb_array_elements(s.holds) AS h$$,
    $$VALUES ('A'::text)$$, 'from 16 March: B, C, D and G were resolved before, only A is left');
SELECT results_eq($$SELECT holds, pending_debit FROM ledger.statement('wallet', '2024-01-01', '2024-01-31')$$,
                  $$VALUES ('[]'::jsonb, 0::bigint)$$, 'January: no hold placed yet');
SELECT results_eq(
    $$SELECT h ->> 'idempotency_key', h ->> 'status' FROM ledger.statement('wallet', '2024-04-01', '2024-04-30') AS s,
             jsonb_array_elements(s.holds) AS h$$,
    $$VALUES ('A'::text, 'pending'::text), ('E', 'pending')$$, 'April: A still pending, E placed');

-- Lines: the capture's line carries its hold; the top-up (whose key a void reused) does not.
SELECT results_eq(
    $$SELECT (l ->> 'entry_id')::bigint, (l ->> 'hold_id')::bigint
        FROM ledger.statement('wallet', '2024-03-01', '2024-03-31') AS s, jsonb_array_elements(s.lines) AS l$$,
    format($$VALUES ((SELECT entry_id FROM ledger_private.entry WHERE idempotency_key = 'fund:mar'), NULL::bigint),
                    (%s, %s)$$, :cap_b, :b),
    'lines: the capture''s line has hold_id B, the top-up''s none (although a void reused its key)');
SELECT ok((SELECT bool_and(l ? 'hold_id') FROM ledger.statement('wallet', '2024-03-01', '2024-03-31') AS s,
                  jsonb_array_elements(s.lines) AS l), 'every line has the hold_id key');

-- Pages: the holds on the first page only, the pending amounts on every page.
SELECT results_eq(
    $$SELECT jsonb_array_length(holds), pending_debit, next_cursor IS NOT NULL
        FROM ledger.statement('wallet', '2024-03-01', '2024-03-31', NULL, 1)$$,
    $$VALUES (5, 100::bigint, true)$$, 'first page of one line: the five holds and a cursor');
SELECT results_eq(
    $$SELECT s2.holds, s2.pending_debit, jsonb_array_length(s2.lines)
        FROM ledger.statement('wallet', '2024-03-01', '2024-03-31', NULL, 1) AS s1,
             ledger.statement('wallet', '2024-03-01', '2024-03-31', s1.next_cursor, 1) AS s2$$,
    $$VALUES (NULL::jsonb, 100::bigint, 1)$$, 'the next page: holds NULL, the same pending amounts');

-- Another book: its own holds only.
SELECT results_eq(
    $$SELECT h ->> 'idempotency_key', h ->> 'status', s.pending_debit
        FROM ledger.statement('wallet', '2024-03-01', '2024-03-31', p_book => 'other') AS s,
             jsonb_array_elements(s.holds) AS h$$,
    $$VALUES ('X'::text, 'pending'::text, 5::bigint)$$, 'the other book''s wallet: its hold X alone');

-- A deferred account takes no holds: its statement has none.
SELECT is((ledger.hold_entry('auth:hot', '[{"account": "cash", "amount": 5, "currency": "USD"},
            {"account": "hot", "amount": -5, "currency": "USD"}]')).error_code, 'LD225', 'setup: hot refuses a hold');
SELECT is((ledger.post_entry('hot:1', '[{"account": "cash", "amount": 5, "currency": "USD"},
            {"account": "hot", "amount": -5, "currency": "USD"}]')).status, 'posted', 'setup: a posting to hot');
SELECT results_eq(
    $$SELECT s.holds, s.pending_debit, s.pending_credit, l -> 'hold_id'
        FROM ledger.statement('hot', current_date - 1, current_date + 1) AS s, jsonb_array_elements(s.lines) AS l$$,
    $$VALUES ('[]'::jsonb, 0::bigint, 0::bigint, 'null'::jsonb)$$, 'deferred: a line, no holds, nothing pending');

-- Today, through the API: a hold captured in part and a pending one.
SELECT hold_id AS t1 FROM ledger.hold_entry('auth:t1', '[{"account": "wallet", "amount": 25, "currency": "USD"},
    {"account": "merchant", "amount": -25, "currency": "USD"}]', 'coffee') \gset
SELECT entry_id AS cap_t1 FROM ledger.capture_hold(:t1, 'cap:t1', 10) \gset
SELECT hold_id AS t2 FROM ledger.hold_entry('auth:t2', '[{"account": "wallet", "amount": 5, "currency": "USD"},
    {"account": "merchant", "amount": -5, "currency": "USD"}]') \gset
SELECT results_eq(
    $$SELECT h ->> 'idempotency_key', h ->> 'status', (h ->> 'entry_id')::bigint, (h ->> 'captured_amount')::bigint,
             (h ->> 'resolved_at')::timestamptz
        FROM ledger.statement('wallet', (now() AT TIME ZONE 'UTC')::date, (now() AT TIME ZONE 'UTC')::date) AS s,
             jsonb_array_elements(s.holds) AS h$$,
    format($$VALUES ('A'::text, 'pending'::text, NULL::bigint, NULL::bigint, NULL::timestamptz),
                    ('E', 'pending', NULL, NULL, NULL), ('auth:t1', 'captured', %s, 10, now()), ('auth:t2', 'pending', NULL, NULL, NULL)$$, :cap_t1),
    'today: A and E still pending, auth:t1 captured (10 of 25) by its entry, auth:t2 pending');
SELECT results_eq(
    $$SELECT (l ->> 'hold_id')::bigint FROM ledger.statement('wallet', (now() AT TIME ZONE 'UTC')::date,
                                                             (now() AT TIME ZONE 'UTC')::date) AS s,
             jsonb_array_elements(s.lines) AS l$$,
    format('VALUES (%s::bigint)', :t1), 'today''s line is the capture of auth:t1');
SELECT results_eq(
    $$SELECT pending_debit, pending_credit FROM ledger.statement('wallet', (now() AT TIME ZONE 'UTC')::date,
                                                                (now() AT TIME ZONE 'UTC')::date)$$,
    $$SELECT pending_debit, pending_credit FROM ledger.get_available('wallet')$$,
    'a statement through today: pending now, as get_available says (A + E + auth:t2)');
SELECT is((SELECT count(*) FROM ledger.statement('wallet', (now() AT TIME ZONE 'UTC')::date - 1,
                                                 (now() AT TIME ZONE 'UTC')::date - 1) AS s,
                 jsonb_array_elements(s.holds) AS h WHERE h ->> 'idempotency_key' LIKE 'auth:t%'),
          0::bigint, 'a statement through yesterday: today''s holds are absent');
SELECT is((SELECT h ->> 'status' FROM ledger.statement('wallet', '2024-03-01', '2024-03-31') AS s,
                  jsonb_array_elements(s.holds) AS h WHERE h ->> 'idempotency_key' = 'A'),
          'pending', 'a past statement is unchanged by today''s holds');

SELECT * FROM finish();
ROLLBACK;
