-- ledger.post_entry(): balanced entries move exact balances (normal and debit-positive), number each
-- account's postings 1, 2, 3, ... with the running balance, accept amounts as JSON strings, mixed currencies
-- (each balanced) and several legs on one account, and leave ledger.books_check() empty.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(30);

-- Accounts: a wallet is a liability (credit-normal), fees are income (credit-normal), cash is an asset.
SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash (USD)');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: liability wallet (USD), lower limit 0');
SELECT ok((ledger.create_account('fees', 'USD', 'income')).created, 'setup: income fees (USD)');
SELECT ok((ledger.create_account('eur_cash', 'EUR', 'asset')).created, 'setup: asset eur_cash (EUR)');
SELECT ok((ledger.create_account('eur_wallet', 'EUR', 'liability')).created, 'setup: liability eur_wallet (EUR)');

-- 1. A top-up: debit cash, credit the wallet.
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('hp:1',
        '[{"account": "cash", "amount": 10000, "currency": "USD"},
          {"account": "wallet", "amount": -10000, "currency": "USD"}]',
        'Top-up', '{"channel": "card"}', '2026-01-15')$$,
    $$VALUES (true, '{"cash": 10000, "wallet": 10000}'::jsonb)$$,
    'a top-up is created and returns the touched accounts'' normal balances');

-- 2. A payment with a fee, amounts given as JSON strings.
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('hp:2',
        '[{"account": "wallet", "amount": "2500", "currency": "USD"},
          {"account": "cash", "amount": "-2400", "currency": "USD"},
          {"account": "fees", "amount": "-100", "currency": "USD"}]')$$,
    $$VALUES (true, '{"cash": 7600, "wallet": 7500, "fees": 100}'::jsonb)$$,
    'amounts given as JSON strings ("2500") are accepted');

-- 3. Two currencies, each balanced, and two legs on the same account.
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('hp:3',
        '[{"account": "cash", "amount": 50, "currency": "USD"},
          {"account": "eur_cash", "amount": 300, "currency": "EUR"},
          {"account": "cash", "amount": 50, "currency": "USD"},
          {"account": "wallet", "amount": -100, "currency": "USD"},
          {"account": "eur_wallet", "amount": "-300", "currency": "EUR"}]')$$,
    $$VALUES (true, '{"cash": 7700, "eur_cash": 300, "wallet": 7600, "eur_wallet": 300}'::jsonb)$$,
    'an entry in two currencies, each balanced, with two legs on one account, is created');

-- Balances through every read path.
SELECT results_eq(
    $$SELECT code, balance, debit_balance, postings, normal_side FROM ledger.accounts ORDER BY code$$,
    $$VALUES ('cash', 7700::bigint, 7700::bigint, 4::bigint, 'debit'),
             ('eur_cash', 300, 300, 1, 'debit'),
             ('eur_wallet', 300, -300, 1, 'credit'),
             ('fees', 100, -100, 1, 'credit'),
             ('wallet', 7600, -7600, 3, 'credit')$$,
    'ledger.accounts: exact normal balances, debit-positive balances and posting counts');
SELECT results_eq($$SELECT balance, seq FROM ledger.get_balance('cash')$$,
                  $$VALUES (7700::bigint, 4::bigint)$$, 'get_balance(cash): 7700 after 4 postings');
SELECT results_eq($$SELECT balance, seq FROM ledger.get_balance('wallet')$$,
                  $$VALUES (7600::bigint, 3::bigint)$$, 'get_balance(wallet): normal balance 7600 after 3 postings');
SELECT results_eq($$SELECT balance, seq FROM ledger.get_balance('fees')$$,
                  $$VALUES (100::bigint, 1::bigint)$$, 'get_balance(fees): income balance 100');
SELECT results_eq($$SELECT balance, seq, currency FROM ledger.get_balance('eur_wallet')$$,
                  $$VALUES (300::bigint, 1::bigint, 'EUR')$$, 'get_balance(eur_wallet): 300 EUR');
SELECT results_eq(
    $$SELECT code, balance, seq FROM ledger_private.account ORDER BY code$$,
    $$VALUES ('cash', 7700::bigint, 4::bigint), ('eur_cash', 300, 1), ('eur_wallet', -300, 1),
             ('fees', -100, 1), ('wallet', -7600, 3)$$,
    'stored balances are debit-positive, seq counts the postings');

-- Every leg: per-account sequence and running balance.
SELECT results_eq(
    $$SELECT e.idempotency_key, p.leg::int, p.account, p.amount, p.currency, p.account_seq, p.balance_after
        FROM ledger.postings AS p JOIN ledger.entries AS e USING (book, entry_id)
       ORDER BY p.entry_id, p.leg$$,
    $$VALUES ('hp:1', 1, 'cash', 10000::bigint, 'USD', 1::bigint, 10000::bigint),
             ('hp:1', 2, 'wallet', -10000, 'USD', 1, 10000),
             ('hp:2', 1, 'wallet', 2500, 'USD', 2, 7500),
             ('hp:2', 2, 'cash', -2400, 'USD', 2, 7600),
             ('hp:2', 3, 'fees', -100, 'USD', 1, 100),
             ('hp:3', 1, 'cash', 50, 'USD', 3, 7650),
             ('hp:3', 2, 'eur_cash', 300, 'EUR', 1, 300),
             ('hp:3', 3, 'cash', 50, 'USD', 4, 7700),
             ('hp:3', 4, 'wallet', -100, 'USD', 3, 7600),
             ('hp:3', 5, 'eur_wallet', -300, 'EUR', 1, 300)$$,
    'ledger.postings: amounts, account_seq and normal balance_after of every leg');
SELECT results_eq(
    $$SELECT a.code, p.account_seq, p.balance_after
        FROM ledger_private.posting AS p JOIN ledger_private.account AS a USING (book_id, account_id)
       WHERE a.code IN ('wallet', 'fees', 'eur_wallet')
       ORDER BY a.code, p.account_seq$$,
    $$VALUES ('eur_wallet', 1::bigint, -300::bigint), ('fees', 1, -100),
             ('wallet', 1, -10000), ('wallet', 2, -7500), ('wallet', 3, -7600)$$,
    'stored balance_after is the debit-positive running balance');
SELECT results_eq(
    $$SELECT p.account_seq FROM ledger.postings AS p JOIN ledger.entries AS e USING (book, entry_id)
       WHERE e.idempotency_key = 'hp:3' AND p.account = 'cash' ORDER BY p.leg$$,
    $$VALUES (3::bigint), (4::bigint)$$,
    'two legs on one account get consecutive account_seq in leg order');

-- Headers.
SELECT results_eq(
    $$SELECT description, metadata, effective_date, reverses_entry_id FROM ledger.entries WHERE idempotency_key = 'hp:1'$$,
    $$VALUES ('Top-up', '{"channel": "card"}'::jsonb, '2026-01-15'::date, NULL::bigint)$$,
    'the entry header keeps description, metadata and effective date');
SELECT results_eq(
    $$SELECT description, metadata, effective_date FROM ledger.entries WHERE idempotency_key = 'hp:2'$$,
    $$SELECT NULL::text, '{}'::jsonb, (now() AT TIME ZONE 'UTC')::date$$,
    'defaults: no description, empty metadata, effective date = today (UTC)');
SELECT is((SELECT count(*) FROM ledger.entries WHERE recorded_at = now()), 3::bigint,
          'recorded_at is the transaction timestamp');
SELECT ok((SELECT e2.entry_id > e1.entry_id AND e3.entry_id > e2.entry_id
             FROM ledger.entries AS e1, ledger.entries AS e2, ledger.entries AS e3
            WHERE e1.idempotency_key = 'hp:1' AND e2.idempotency_key = 'hp:2' AND e3.idempotency_key = 'hp:3'),
          'entry ids increase in posting order');
SELECT is((SELECT count(*) FROM ledger_private.posting), 10::bigint, 'ten postings were written');
SELECT is((SELECT count(*) FROM ledger_private.entry), 3::bigint, 'three entries were written');

-- A credit-normal account's balance rises with credits and falls with debits.
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('hp:4',
        '[{"account": "fees", "amount": 40, "currency": "USD"},
          {"account": "wallet", "amount": -40, "currency": "USD"}]')$$,
    $$VALUES ('{"fees": 60, "wallet": 7640}'::jsonb)$$,
    'debiting income lowers its normal balance; crediting the wallet raises it');
SELECT results_eq($$SELECT balance, debit_balance, postings FROM ledger.accounts WHERE code = 'fees'$$,
                  $$VALUES (60::bigint, -60::bigint, 2::bigint)$$, 'fees: balance 60, debit_balance -60');

-- The smallest amount, 1 minor unit.
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('hp:5',
        '[{"account": "cash", "amount": 1, "currency": "USD"},
          {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
    $$VALUES ('{"cash": 7701, "wallet": 7641}'::jsonb)$$,
    'an amount of 1 minor unit posts');

-- The books balance: every invariant holds, and the trial balance nets to zero per currency.
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');
SELECT results_eq(
    $$SELECT currency, debits, credits, net FROM ledger.trial_balance WHERE book = 'default' ORDER BY currency$$,
    $$VALUES ('EUR', 300::numeric, 300::numeric, 0::numeric), ('USD', 7701, 7701, 0)$$,
    'trial balance: debits equal credits in each currency');
SELECT is((SELECT sum(balance) FROM ledger_private.account WHERE currency = 'USD'), 0::numeric,
          'debit-positive balances sum to zero (USD)');
SELECT is((SELECT sum(amount) FROM ledger_private.posting), 0::numeric, 'all postings sum to zero');

SELECT * FROM finish();
ROLLBACK;
