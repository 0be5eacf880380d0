-- ledger.close_period() and the closed-period rule: a book closed through a date refuses every entry dated on or
-- before it (LD214) on every path — post_entry, both paths of post_entries, reverse_entry — and writes nothing
-- for it but the recorded refusal; closing only moves forward (same date: no-op; earlier: LD215; today or
-- later: LD117); checkpoints hold each account's balance at the close; a reversal of an entry in a closed period
-- is dated in the first open day.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(42);

SELECT has_function('ledger', 'close_period', ARRAY['date', 'text'], 'ledger.close_period(date, text) exists');
SELECT has_function('ledger', 'closed_through', ARRAY['text'], 'ledger.closed_through(text) exists');
SELECT volatility_is('ledger', 'closed_through', ARRAY['text'], 'stable', 'closed_through is STABLE');
SELECT has_function('ledger_private', 'raise_period_closed', ARRAY['integer', 'date', 'date'],
                    'the posting core raises LD214 through raise_period_closed');

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('sales', 'USD', 'income')).created, 'setup: sales');
SELECT ok((ledger.create_book('other')).created, 'setup: book other');

SELECT entry_id AS jan FROM ledger.post_entry('pc:jan',
    '[{"account": "cash", "amount": 1000, "currency": "USD"}, {"account": "sales", "amount": -1000, "currency": "USD"}]',
    'January sale', p_effective_date => '2024-01-15') \gset
SELECT entry_id AS feb FROM ledger.post_entry('pc:feb',
    '[{"account": "cash", "amount": 300, "currency": "USD"}, {"account": "sales", "amount": -300, "currency": "USD"}]',
    'February sale', p_effective_date => '2024-02-10') \gset

SELECT is(ledger.closed_through(), NULL::date, 'nothing is closed at first');
SELECT results_eq($$SELECT book, through_date, accounts, created FROM ledger.close_period('2024-01-31')$$,
                  $$VALUES ('default', '2024-01-31'::date, 2, true)$$,
                  'closing January stores a checkpoint for both accounts');
SELECT is(ledger.closed_through(), '2024-01-31'::date, 'the book is closed through January');
SELECT is(ledger.closed_through('other'), NULL::date, 'another book stays open');
SELECT results_eq(
    $$SELECT a.code, k.balance, k.debits, k.credits FROM ledger_private.account_checkpoint AS k
        JOIN ledger_private.account AS a USING (book_id, account_id) WHERE k.through_date = '2024-01-31' ORDER BY 1$$,
    $$VALUES ('cash', 1000::numeric, 1000::numeric, 0::numeric), ('sales', -1000, 0, 1000)$$,
    'the checkpoint holds January only (debit-positive), not the February entry recorded before the close');

-- Monotonic.
SELECT results_eq($$SELECT through_date, created FROM ledger.close_period('2024-01-31')$$,
                  $$VALUES ('2024-01-31'::date, false)$$, 'closing through the same date again is a no-op');
SELECT throws_ok($$SELECT ledger.close_period('2023-12-31')$$, 'LD215', NULL,
                 'closing through an earlier date is LD215');
SELECT throws_ok($$SELECT ledger.close_period((now() AT TIME ZONE 'UTC')::date)$$, 'LD117', NULL,
                 'closing through today is LD117');
SELECT throws_ok($$SELECT ledger.close_period(NULL)$$, 'LD101', NULL, 'a NULL date is LD101');
SELECT throws_ok($$SELECT ledger.close_period('2024-01-31', 'nope')$$, 'LD210', NULL, 'an unknown book is LD210');

-- Backdating into the closed period: refused, nothing written but the refusal.
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before,
       (SELECT balance FROM ledger_private.account WHERE code = 'cash') AS cash_before \gset
SELECT results_eq($$SELECT status, error_code, entry_id FROM ledger.post_entry('pc:late',
    '[{"account": "cash", "amount": 5, "currency": "USD"}, {"account": "sales", "amount": -5, "currency": "USD"}]',
    p_effective_date => '2024-01-31')$$,
    $$VALUES ('refused', 'LD214', NULL::bigint)$$, 'post_entry dated on the close date is refused with LD214');
SELECT is((SELECT error_detail::jsonb ->> 'closed_through' FROM ledger.post_entry('pc:late',
    '[{"account": "cash", "amount": 5, "currency": "USD"}, {"account": "sales", "amount": -5, "currency": "USD"}]',
    p_effective_date => '2024-01-31')), '2024-01-31', 'the refusal is recorded and its DETAIL names the close date');
SELECT results_eq($$SELECT status, error_code FROM ledger.post_entries(
    '[{"key": "pc:b1", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "sales", "amount": -1, "currency": "USD"}], "effective_date": "2024-02-01"},
      {"key": "pc:b2", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "sales", "amount": -1, "currency": "USD"}], "effective_date": "2024-01-02"}]')
    ORDER BY 1 DESC$$,
    $$VALUES ('refused', 'LD214'), ('posted', NULL)$$,
    'post_entries (per-entry path): the entry dated into the closed period is refused, the other posts');
SET LOCAL dualbook.post_entries_path = 'set';
SELECT results_eq($$SELECT status, error_code FROM ledger.post_entries(
    '[{"key": "pc:s1", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "sales", "amount": -1, "currency": "USD"}], "effective_date": "2024-02-01"},
      {"key": "pc:s2", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "sales", "amount": -1, "currency": "USD"}], "effective_date": "2023-06-30"}]')
    ORDER BY 1 DESC$$,
    $$VALUES ('refused', 'LD214'), ('posted', NULL)$$,
    'post_entries (set-based path): the same, the batch falls back to the per-entry path');
SELECT throws_ok($$SELECT * FROM ledger.post_entries(
    '[{"key": "pc:a1", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "sales", "amount": -1, "currency": "USD"}], "effective_date": "2024-01-05"}]',
    p_atomic => true)$$, 'LD214', NULL, 'an atomic batch with an entry dated into the closed period raises LD214');
RESET dualbook.post_entries_path;
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM ledger_private.entry), (SELECT count(*) FROM ledger_private.posting),
             (SELECT balance FROM ledger_private.account WHERE code = 'cash')$$,
    format('VALUES (%s::bigint + 2, %s::bigint + 4, %s::bigint + 2)', :entries_before, :postings_before, :cash_before),
    'the refused entries wrote no entry, posting or balance (only the two entries dated in February)');
SELECT is((SELECT count(*) FROM ledger_private.refusal WHERE idempotency_key IN ('pc:late', 'pc:b2', 'pc:s2')),
          3::bigint, 'each refusal is recorded with its key');

-- A replay of an entry posted before the close still replays.
SELECT results_eq($$SELECT status, entry_id FROM ledger.post_entry('pc:jan',
    '[{"account": "cash", "amount": 1000, "currency": "USD"}, {"account": "sales", "amount": -1000, "currency": "USD"}]',
    'January sale', p_effective_date => '2024-01-15')$$,
    format('VALUES (%L, %s::bigint)', 'replayed', :jan), 'a replay of a January entry after the close replays');
SELECT is((SELECT status FROM ledger.post_entry('pc:open',
    '[{"account": "cash", "amount": 7, "currency": "USD"}, {"account": "sales", "amount": -7, "currency": "USD"}]',
    p_effective_date => '2024-02-01')), 'posted', 'the first open day accepts entries');
SELECT is((SELECT status FROM ledger.post_entry('pc:other',
    '[{"account": "cash", "amount": 7, "currency": "USD"}, {"account": "sales", "amount": -7, "currency": "USD"}]',
    p_effective_date => '2024-01-01')), 'refused', 'sanity: the default book refuses January');

-- Reversal dating.
SELECT has_function('ledger', 'reverse_entry', ARRAY['bigint', 'text', 'text', 'text', 'date'],
                    'reverse_entry takes an effective date');
SELECT is((SELECT status FROM ledger.reverse_entry(:jan, 'pc:rev-jan')), 'posted',
          'an entry in a closed period can be reversed');
SELECT is((SELECT effective_date FROM ledger.entries WHERE idempotency_key = 'pc:rev-jan'), '2024-02-01'::date,
          'its reversal is dated in the first open day');
SELECT is((SELECT status FROM ledger.reverse_entry(:feb, 'pc:rev-feb')), 'posted', 'an open entry is reversed');
SELECT is((SELECT effective_date FROM ledger.entries WHERE idempotency_key = 'pc:rev-feb'), '2024-02-10'::date,
          'by default on its own date while its period is open');
SELECT entry_id AS mar FROM ledger.post_entry('pc:mar',
    '[{"account": "cash", "amount": 40, "currency": "USD"}, {"account": "sales", "amount": -40, "currency": "USD"}]',
    p_effective_date => '2024-03-03') \gset
SELECT results_eq(format($$SELECT status, error_code FROM ledger.reverse_entry(%s, 'pc:rev-mar', NULL, 'default', '2024-01-20')$$, :mar),
                  $$VALUES ('refused', 'LD214')$$, 'a reversal explicitly dated into the closed period is LD214');
SELECT is((SELECT status FROM ledger.reverse_entry(:mar, 'pc:rev-mar2', 'late', 'default', '2024-03-31')), 'posted',
          'a reversal on an explicit open date posts');
SELECT is((SELECT effective_date FROM ledger.entries WHERE idempotency_key = 'pc:rev-mar2'), '2024-03-31'::date,
          'on that date');
SELECT results_eq(format($$SELECT status FROM ledger.reverse_entry(%s, 'pc:rev-jan')$$, :jan),
                  $$VALUES ('replayed')$$, 'a replay of the defaulted reversal replays');

-- A key's outcome never changes: reversals without a date, posted or refused, replay the same after their period
-- closes (the request hash holds the date as requested, not the default the ledger picked).
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', p_lower_limit => 0)).created, 'setup: wallet');
SELECT entry_id AS topup FROM ledger.post_entry('pc:topup',
    '[{"account": "cash", "amount": 50, "currency": "USD"}, {"account": "wallet", "amount": -50, "currency": "USD"}]',
    p_effective_date => '2024-02-12') \gset
SELECT lives_ok($$SELECT ledger.post_entry('pc:spend',
    '[{"account": "wallet", "amount": 50, "currency": "USD"}, {"account": "cash", "amount": -50, "currency": "USD"}]',
    p_effective_date => '2024-02-13')$$, 'setup: the wallet is spent down to 0');
SELECT results_eq(format($$SELECT status, error_code FROM ledger.reverse_entry(%s, 'pc:rev-topup')$$, :topup),
                  $$VALUES ('refused', 'LD203')$$, 'a reversal that would overdraw the wallet is refused (LD203)');
SELECT lives_ok($$SELECT ledger.close_period('2024-02-29')$$, 'February closes: the default date moves to March');
SELECT results_eq(format($$SELECT status, error_code FROM ledger.reverse_entry(%s, 'pc:rev-topup')$$, :topup),
                  $$VALUES ('refused', 'LD203')$$, 'its replay after the close is the same recorded refusal');
SELECT results_eq(format($$SELECT status FROM ledger.reverse_entry(%s, 'pc:rev-feb')$$, :feb),
                  $$VALUES ('replayed')$$, 'a posted reversal whose period closed since still replays');

SELECT * FROM finish();
ROLLBACK;
