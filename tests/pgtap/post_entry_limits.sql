-- Account limits bound the *normal* balance after the entry: a lower limit of 0 is "no overdraft", an upper
-- limit caps it. Sign convention: amount > 0 is a debit; crediting a credit-normal account (liability, equity,
-- income) raises its normal balance, debiting a debit-normal account (asset, expense) raises its. A refused
-- entry (LD203) changes nothing, not even the accounts updated before the one that failed.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(28);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash (asset, unbounded)');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0, 10000)).created,
          'setup: wallet (liability) limited to [0, 10000]');
SELECT ok((ledger.create_account('bank', 'USD', 'asset', 0)).created, 'setup: bank (asset) with lower limit 0');
SELECT ok((ledger.create_account('credit_line', 'USD', 'asset', -5000)).created,
          'setup: credit_line (asset) may go down to -5000');
SELECT ok((ledger.create_account('budget', 'USD', 'expense', NULL, 300)).created,
          'setup: budget (expense) with upper limit 300');
SELECT ok((ledger.create_account('capital', 'USD', 'equity', 0, 1000)).created,
          'setup: capital (equity) limited to [0, 1000]');

-- Credit-normal wallet: crediting raises its normal balance, up to the upper limit exactly.
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('lim:1', '[{"account": "cash", "amount": 10000, "currency": "USD"},
                                                      {"account": "wallet", "amount": -10000, "currency": "USD"}]')$$,
    $$VALUES ('{"cash": 10000, "wallet": 10000}'::jsonb)$$,
    'crediting the wallet up to its upper limit (10000) is accepted');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:2', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                     {"account": "wallet", "amount": -1, "currency": "USD"}]')), 'LD203', 'crediting the wallet beyond its upper limit is LD203');
-- Debiting lowers it, down to 0 exactly, not below.
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('lim:3', '[{"account": "wallet", "amount": 10000, "currency": "USD"},
                                                      {"account": "cash", "amount": -10000, "currency": "USD"}]')$$,
    $$VALUES ('{"cash": 0, "wallet": 0}'::jsonb)$$,
    'debiting the wallet down to 0 is accepted');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:4', '[{"account": "wallet", "amount": 1, "currency": "USD"},
                                                     {"account": "cash", "amount": -1, "currency": "USD"}]')), 'LD203', 'a wallet with lower limit 0 cannot go negative (LD203)');

-- Debit-normal asset with lower limit 0: a credit cannot take it below zero.
SELECT lives_ok($$SELECT ledger.post_entry('lim:5', '[{"account": "bank", "amount": 300, "currency": "USD"},
                                                     {"account": "cash", "amount": -300, "currency": "USD"}]')$$,
                'setup: bank holds 300');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:6', '[{"account": "cash", "amount": 301, "currency": "USD"},
                                                     {"account": "bank", "amount": -301, "currency": "USD"}]')), 'LD203', 'crediting an asset below its lower limit 0 is LD203');
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('lim:7', '[{"account": "cash", "amount": 300, "currency": "USD"},
                                                      {"account": "bank", "amount": -300, "currency": "USD"}]')$$,
    $$VALUES ('{"bank": 0, "cash": 0}'::jsonb)$$,
    'crediting the asset down to exactly 0 is accepted');

-- A negative lower limit is an overdraft.
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('lim:8', '[{"account": "cash", "amount": 5000, "currency": "USD"},
                                                      {"account": "credit_line", "amount": -5000, "currency": "USD"}]')$$,
    $$VALUES ('{"cash": 5000, "credit_line": -5000}'::jsonb)$$,
    'an asset may go down to its negative lower limit (-5000)');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:9', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                     {"account": "credit_line", "amount": -1, "currency": "USD"}]')), 'LD203', 'going below a negative lower limit is LD203');

-- Debit-normal expense with an upper limit: debits raise it.
SELECT lives_ok($$SELECT ledger.post_entry('lim:10', '[{"account": "budget", "amount": 300, "currency": "USD"},
                                                      {"account": "cash", "amount": -300, "currency": "USD"}]')$$,
                'an expense may be debited up to its upper limit (300)');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:11', '[{"account": "budget", "amount": 1, "currency": "USD"},
                                                       {"account": "cash", "amount": -1, "currency": "USD"}]')), 'LD203', 'debiting an expense beyond its upper limit is LD203');

-- Credit-normal equity: the upper limit applies to the credit side, and a debit below 0 is refused.
SELECT lives_ok($$SELECT ledger.post_entry('lim:12', '[{"account": "cash", "amount": 1000, "currency": "USD"},
                                                      {"account": "capital", "amount": -1000, "currency": "USD"}]')$$,
                'crediting equity up to its upper limit (1000) is accepted');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:13', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                       {"account": "capital", "amount": -1, "currency": "USD"}]')), 'LD203', 'crediting equity beyond its upper limit is LD203');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:14', '[{"account": "capital", "amount": 1001, "currency": "USD"},
                                                       {"account": "cash", "amount": -1001, "currency": "USD"}]')), 'LD203', 'debiting equity below its lower limit 0 is LD203');

-- The limit that failed was on an account updated after others: all of them are unchanged.
CREATE TEMP TABLE snap_account AS SELECT code, balance, seq FROM ledger_private.account;
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before \gset
SELECT is((SELECT error_code FROM ledger.post_entry('lim:15', '[{"account": "budget", "amount": -100, "currency": "USD"},
                                                       {"account": "cash", "amount": 50, "currency": "USD"},
                                                       {"account": "wallet", "amount": 50, "currency": "USD"}]')), 'LD203', 'an entry whose last account (in code order) breaks its limit is LD203');
SELECT set_eq('SELECT code, balance, seq FROM ledger_private.account', 'SELECT * FROM snap_account',
              'the accounts updated before the failing one are unchanged');
SELECT is((SELECT count(*) FROM ledger_private.entry), :entries_before::bigint, 'LD203 wrote no entry');
SELECT is((SELECT count(*) FROM ledger_private.posting), :postings_before::bigint, 'LD203 wrote no posting');
SELECT is((SELECT error_code FROM ledger.post_entry('lim:16', '[{"account": "budget", "amount": 1, "currency": "USD"},
                                                       {"account": "zz_unknown", "amount": -1, "currency": "USD"}]')), 'LD201', 'an unknown account later in code order is reported before a limit breach (LD201, not LD203)');

-- Final state.
SELECT results_eq(
    $$SELECT code, balance, lower_limit, upper_limit FROM ledger.accounts ORDER BY code$$,
    $$VALUES ('bank', 0::bigint, 0::bigint, NULL::bigint), ('budget', 300, NULL, 300), ('capital', 1000, 0, 1000),
             ('cash', 5700, NULL, NULL), ('credit_line', -5000, -5000, NULL), ('wallet', 0, 0, 10000)$$,
    'final normal balances sit on their limits');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');
SELECT results_eq($$SELECT lower_limit, upper_limit FROM ledger.get_balance('wallet')$$,
                  $$VALUES (0::bigint, 10000::bigint)$$, 'get_balance reports the limits');

SELECT * FROM finish();
ROLLBACK;
