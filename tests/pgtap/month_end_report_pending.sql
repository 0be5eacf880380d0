-- The month-end report's pending amounts at the period's end: a hold
-- pending at the end counts, one resolved or expired before it does not, one resolved after it does, one placed
-- after it does not; an account with holds outstanding at the end but no posting has a row of its own (zeros and
-- its pending amounts); another book's holds stay out. Past holds are written as hold_entry, capture_hold and
-- void_hold write them, at past times.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(12);

SELECT volatility_is('ledger', 'month_end_report', ARRAY['date', 'date', 'text'], 'stable',
                     'month_end_report is STABLE');
SELECT is_definer('ledger', 'month_end_report', ARRAY['date', 'date', 'text'], 'month_end_report is SECURITY DEFINER');
SELECT ok(has_function_privilege('dualbook_reader', 'ledger.month_end_report(date, date, text)', 'execute')
          AND has_function_privilege('dualbook_app', 'ledger.month_end_report(date, date, text)', 'execute')
          AND NOT has_function_privilege('public', 'ledger.month_end_report(date, date, text)', 'execute'),
          'the app and the reader execute month_end_report, PUBLIC does not');

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: wallet (no overdraft)');
SELECT ok((ledger.create_account('merchant', 'USD', 'liability')).created
          AND (ledger.create_account('idle', 'USD', 'liability')).created, 'setup: merchant, idle (no postings)');
SELECT ok((ledger.create_book('other')).created
          AND (ledger.create_account('wallet', 'USD', 'liability', p_book => 'other')).created
          AND (ledger.create_account('merchant', 'USD', 'liability', p_book => 'other')).created,
          'setup: book other, its wallet and merchant');
SELECT is((ledger.post_entry('fund:mar', '[{"account": "cash", "amount": 1000, "currency": "USD"},
            {"account": "wallet", "amount": -1000, "currency": "USD"}]', 'top-up', p_effective_date => '2024-03-01')).status,
          'posted', 'setup: the wallet holds 1000 from 1 March 2024');

-- A two-leg hold wallet -> merchant, placed at p_placed, expiring at p_expires; unresolved ones reserve.
CREATE FUNCTION pg_temp.put_hold(p_key text, p_amount bigint, p_placed timestamptz, p_expires timestamptz,
                                 p_book text DEFAULT 'default') RETURNS bigint
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
      FROM (VALUES (1, 'wallet', p_amount), (2, 'merchant', -p_amount)) AS l(leg, code, amount)
      JOIN ledger_private.account AS a ON a.code = l.code AND a.book_id = ledger_private.book_id(p_book);
    PERFORM ledger_private.adjust_held(v_id, 1, p_expires);
    RETURN v_id;
END
$$;
CREATE FUNCTION pg_temp.void(p_hold bigint, p_key text, p_at timestamptz)
RETURNS void LANGUAGE sql AS $$
    SELECT ledger_private.adjust_held(p_hold, -1, h.expires_at) FROM ledger_private.hold AS h WHERE h.hold_id = p_hold;
    INSERT INTO ledger_private.hold_resolution (hold_id, book_id, kind, idempotency_key, amount, resolved_at)
    SELECT p_hold, h.book_id, 'voided', p_key, NULL, p_at FROM ledger_private.hold AS h WHERE h.hold_id = p_hold;
$$;

-- A pending all along; B voided in March; C placed in March, voided in April; D placed in April; E expired in
-- March (the sweeper never ran); X in the other book, pending.
SELECT pg_temp.put_hold('A', 100, '2024-03-10 10:00Z', NULL) AS a \gset
SELECT pg_temp.put_hold('B', 50, '2024-03-05 10:00Z', NULL) AS b \gset
SELECT pg_temp.put_hold('C', 30, '2024-03-15 10:00Z', NULL) AS c \gset
SELECT pg_temp.put_hold('D', 20, '2024-04-02 10:00Z', NULL) AS d \gset
SELECT pg_temp.put_hold('E', 10, '2024-03-07 10:00Z', '2024-03-25 00:00Z') AS e \gset
SELECT pg_temp.put_hold('X', 5, '2024-03-03 10:00Z', NULL, 'other') AS x \gset
SELECT pg_temp.void(:b, 'void:B', '2024-03-20 12:00Z');
SELECT pg_temp.void(:c, 'void:C', '2024-04-10 12:00Z');

SELECT results_eq(
    $$SELECT account, opening, debits, credits, closing, final, pending_debit, pending_credit
        FROM ledger.month_end_report('2024-03-01', '2024-03-31')$$,
    $$VALUES ('cash'::text, 0::numeric, 1000::numeric, 0::numeric, 1000::numeric, false, 0::numeric, 0::numeric),
             ('merchant', 0, 0, 0, 0, false, 0, 130),
             ('wallet', 0, 0, 1000, 1000, false, 130, 0)$$,
    'March: A and C pending at its end (C voided after it); B voided and E expired before it; the merchant, with '
    'holds and no posting, has a row; idle has neither');
SELECT results_eq(
    $$SELECT account, opening, closing, pending_debit, pending_credit
        FROM ledger.month_end_report('2024-04-01', '2024-04-30')$$,
    $$VALUES ('cash'::text, 1000::numeric, 1000::numeric, 0::numeric, 0::numeric),
             ('merchant', 0, 0, 0, 120),
             ('wallet', 1000, 1000, 120, 0)$$,
    'April: A and D pending at its end, C voided before it');
SELECT is_empty($$SELECT * FROM ledger.month_end_report('2024-02-01', '2024-02-29')$$,
                'February: no posting dated by then and nothing outstanding at its end, so no rows');
SELECT results_eq(
    $$SELECT account, opening, closing, pending_debit, pending_credit
        FROM ledger.month_end_report('2024-03-01', '2024-03-31', 'other')$$,
    $$VALUES ('merchant'::text, 0::numeric, 0::numeric, 0::numeric, 5::numeric),
             ('wallet', 0, 0, 5, 0)$$,
    'the other book: its own hold only, on accounts without postings');

SELECT * FROM finish();
ROLLBACK;
