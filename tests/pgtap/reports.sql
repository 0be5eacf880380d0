-- The reports by effective date: balance_as_of, balance_as_recorded, statement (keyset pages), trial_balance_as_of
-- and month_end_report. Entries are posted out of effective-date order, so the reports must not follow recorded
-- order; a deferred account's legs count as soon as their entry commits, queued or not (like get_balance). Shapes:
-- every report is STABLE and SECURITY DEFINER with a pinned search_path.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(41);

SELECT volatility_is('ledger', 'balance_as_of', ARRAY['text', 'date', 'text'], 'stable', 'balance_as_of is STABLE');
SELECT volatility_is('ledger', 'balance_as_recorded', ARRAY['text', 'bigint', 'timestamp with time zone', 'text'],
                     'stable', 'balance_as_recorded is STABLE');
SELECT volatility_is('ledger', 'statement', ARRAY['text', 'date', 'date', 'text', 'integer', 'text'], 'stable',
                     'statement is STABLE');
SELECT volatility_is('ledger', 'trial_balance_as_of', ARRAY['date', 'text'], 'stable', 'trial_balance_as_of is STABLE');
SELECT volatility_is('ledger', 'month_end_report', ARRAY['date', 'date', 'text'], 'stable',
                     'month_end_report is STABLE');
SELECT is_definer('ledger', 'statement', ARRAY['text', 'date', 'date', 'text', 'integer', 'text'],
                  'statement is SECURITY DEFINER');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'ledger'
              AND p.proname IN ('balance_as_of', 'balance_as_recorded', 'statement', 'trial_balance_as_of',
                                'month_end_report', 'close_period', 'closed_through', 'reverse_entry')
              AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp', 'standard_conforming_strings=on']),
          8::bigint, 'every new or reworked function pins search_path and standard_conforming_strings');

SELECT ok((ledger.create_account('bank', 'USD', 'asset')).created, 'setup: bank');
SELECT ok((ledger.create_account('rent', 'USD', 'expense')).created, 'setup: rent');
SELECT ok((ledger.create_account('owner', 'USD', 'equity')).created, 'setup: owner');
SELECT ok((ledger.create_account('house', 'USD', 'income', p_deferred => true)).created, 'setup: deferred house');
SELECT ok((ledger.create_account('eur', 'EUR', 'asset')).created, 'setup: eur');
SELECT ok((ledger.create_account('eur_eq', 'EUR', 'equity')).created, 'setup: eur equity');

-- Recorded in this order; effective dates out of order.
SELECT entry_id AS e1 FROM ledger.post_entry('r:1', '[{"account": "bank", "amount": 5000, "currency": "USD"},
    {"account": "owner", "amount": -5000, "currency": "USD"}]', 'capital', p_effective_date => '2024-03-01') \gset
SELECT entry_id AS e2 FROM ledger.post_entry('r:2', '[{"account": "rent", "amount": 1200, "currency": "USD"},
    {"account": "bank", "amount": -1200, "currency": "USD"}]', 'rent March', p_effective_date => '2024-03-05') \gset
SELECT entry_id AS e3 FROM ledger.post_entry('r:3', '[{"account": "bank", "amount": 100, "currency": "USD"},
    {"account": "owner", "amount": -100, "currency": "USD"}]', 'backdated', p_effective_date => '2024-02-10') \gset
SELECT entry_id AS e4 FROM ledger.post_entry('r:4', '[{"account": "bank", "amount": 70, "currency": "USD"},
    {"account": "house", "amount": -70, "currency": "USD"}]', 'fee', p_effective_date => '2024-03-05') \gset
SELECT entry_id AS e5 FROM ledger.post_entry('r:5', '[{"account": "eur", "amount": 900, "currency": "EUR"},
    {"account": "eur_eq", "amount": -900, "currency": "EUR"}]', 'eur capital', p_effective_date => '2024-01-31') \gset

-- As of an effective date.
SELECT results_eq($$SELECT balance, debit_balance, postings FROM ledger.balance_as_of('bank', '2024-02-29')$$,
                  $$VALUES (100::bigint, 100::bigint, 1::bigint)$$,
                  'as of February the bank has only the backdated entry (recorded last)');
SELECT results_eq($$SELECT balance, postings FROM ledger.balance_as_of('bank', '2024-03-05')$$,
                  $$VALUES (3970::bigint, 4::bigint)$$, 'as of 5 March: all four');
SELECT results_eq($$SELECT balance FROM ledger.balance_as_of('owner', '2024-03-01')$$, $$VALUES (5100::bigint)$$,
                  'a credit-normal account shows its normal balance');
SELECT results_eq($$SELECT balance FROM ledger.balance_as_of('house', '2024-12-31')$$, $$VALUES (70::bigint)$$,
                  'a deferred account''s queued leg counts, as in get_balance');
SELECT is((SELECT balance FROM ledger.balance_as_of('house', '2024-12-31')), (SELECT balance FROM ledger.get_balance('house')),
          'deferred: as of the last date equals get_balance');
SELECT throws_ok($$SELECT ledger.balance_as_of('nope', '2024-01-01')$$, 'LD201', NULL, 'unknown account: LD201');
SELECT throws_ok($$SELECT ledger.balance_as_of('bank', NULL)$$, 'LD101', NULL, 'no date: LD101');

-- As recorded.
SELECT results_eq(format($$SELECT balance, through_entry_id FROM ledger.balance_as_recorded('bank', %s)$$, :e2),
                  format('VALUES (3800::bigint, %s::bigint)', :e2),
                  'as recorded through the second entry: the backdated one is not yet there');
SELECT results_eq($$SELECT balance FROM ledger.balance_as_recorded('bank', p_recorded_at => now())$$,
                  $$VALUES (3970::bigint)$$, 'as recorded now: everything');
SELECT throws_ok($$SELECT ledger.balance_as_recorded('bank')$$, 'LD101', NULL, 'neither entry id nor time: LD101');

-- Statement of the bank, 1 Feb .. 5 Mar, in pages of two.
SELECT results_eq($$SELECT opening_balance, closing_balance, jsonb_array_length(lines), next_cursor
                      FROM ledger.statement('bank', '2024-02-01', '2024-03-05', NULL, 2)$$,
                  format($$VALUES (0::bigint, 3970::bigint, 2, '2024-03-01.%s.1')$$, :e1),
                  'first page: opening, closing, two lines and a cursor');
SELECT results_eq($$SELECT (l ->> 'entry_id')::bigint, (l ->> 'running_balance')::bigint
                      FROM ledger.statement('bank', '2024-02-01', '2024-03-05', NULL, 2) AS s,
                           jsonb_array_elements(s.lines) AS l$$,
                  format('VALUES (%s::bigint, 100::bigint), (%s, 5100)', :e3, :e1),
                  'lines in effective-date order with the running balance');
SELECT results_eq(format($$SELECT (l ->> 'entry_id')::bigint, (l ->> 'running_balance')::bigint, s.next_cursor
                      FROM ledger.statement('bank', '2024-02-01', '2024-03-05', '2024-03-01.%s.1', 2) AS s,
                           jsonb_array_elements(s.lines) AS l$$, :e1),
                  format('VALUES (%s::bigint, 3900::bigint, NULL::text), (%s, 3970, NULL)', :e2, :e4),
                  'the second (last) page continues the running balance and has no cursor');
SELECT results_eq($$SELECT opening_balance, closing_balance, lines FROM ledger.statement('bank', '2024-03-02', '2024-03-04')$$,
                  $$VALUES (5100::bigint, 5100::bigint, '[]'::jsonb)$$, 'a statement without lines');
SELECT is((SELECT l ->> 'description' FROM ledger.statement('rent', '2024-01-01', '2024-12-31') AS s,
                  jsonb_array_elements(s.lines) AS l), 'rent March', 'lines carry the entry''s description');
SELECT throws_ok($$SELECT ledger.statement('bank', '2024-03-05', '2024-02-01')$$, 'LD115', NULL,
                 'from after to: LD115');
SELECT throws_ok($$SELECT ledger.statement('bank', '2024-02-01', '2024-03-05', 'garbage')$$, 'LD116', NULL,
                 'a malformed cursor: LD116');
SELECT throws_ok($$SELECT ledger.statement('bank', '2024-02-01', '2024-03-05', '2024-13-01.1.1')$$, 'LD116', NULL,
                 'a cursor with an impossible date: LD116');
SELECT throws_ok($$SELECT ledger.statement('bank', '2024-02-01', '2024-03-05', '2025-01-01.1.1')$$, 'LD116', NULL,
                 'a cursor outside the dates: LD116');
SELECT throws_ok($$SELECT ledger.statement('bank', '2024-02-01', '2024-03-05', NULL, 0)$$, 'LD101', NULL,
                 'a page of 0 lines: LD101');

-- Trial balance as of a date.
SELECT results_eq($$SELECT currency, debits, credits, net, accounts FROM ledger.trial_balance_as_of('2024-02-29')$$,
                  $$VALUES ('EUR', 900::numeric, 900::numeric, 0::numeric, 2::bigint),
                           ('USD', 100, 100, 0, 2)$$, 'trial balance as of February');
SELECT results_eq($$SELECT currency, debits, credits, net FROM ledger.trial_balance_as_of('2024-12-31')$$,
                  $$SELECT currency, debits, credits, net FROM ledger.trial_balance WHERE book = 'default' ORDER BY currency$$,
                  'as of the last date it equals the current trial balance (deferred legs included)');

-- Month-end report, before and after a close.
SELECT results_eq($$SELECT account, opening, debits, credits, closing, final
                      FROM ledger.month_end_report('2024-03-01', '2024-03-31') WHERE currency = 'USD'$$,
                  $$VALUES ('bank', 100::numeric, 5070::numeric, 1200::numeric, 3970::numeric, false),
                           ('house', 0, 0, 70, 70, false),
                           ('owner', 100, 0, 5000, 5100, false),
                           ('rent', 0, 1200, 0, 1200, false)$$,
                  'March: opening, debits, credits, closing per account (normal balances), not final');
SELECT ok((ledger.close_period('2024-02-29')).created, 'close February');
SELECT ok((ledger.close_period('2024-03-31')).created, 'close March');
SELECT results_eq($$SELECT account, opening, debits, credits, closing, final
                      FROM ledger.month_end_report('2024-03-01', '2024-03-31') WHERE currency = 'USD'$$,
                  $$VALUES ('bank', 100::numeric, 5070::numeric, 1200::numeric, 3970::numeric, true),
                           ('house', 0, 0, 70, 70, true),
                           ('owner', 100, 0, 5000, 5100, true),
                           ('rent', 0, 1200, 0, 1200, true)$$,
                  'after the close: the same figures from the checkpoints, final');
SELECT results_eq($$SELECT balance FROM ledger.balance_as_of('bank', '2024-02-29')$$, $$VALUES (100::bigint)$$,
                  'as-of balances agree after the close');
SELECT throws_ok($$SELECT * FROM ledger.month_end_report('2024-04-01', '2024-03-01')$$, 'LD115', NULL,
                 'month-end report with from after through: LD115');

SELECT * FROM finish();
ROLLBACK;
