-- The read API: ledger.get_balance(), ledger.get_entry(), ledger.get_entry_by_key() and the reporting views
-- (ledger.accounts, ledger.entries, ledger.postings, ledger.books). Unknown account LD201, unknown entry LD208,
-- unknown book LD210, NULL book LD101.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(31);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0, 50000)).created, 'setup: liability wallet');
SELECT ok((ledger.create_account('points', 'JPY', 'liability')).created, 'setup: liability points (JPY, exponent 0)');
SELECT ok((ledger.create_account('points_pool', 'JPY', 'equity')).created, 'setup: equity points_pool');
SELECT ok((ledger.create_book('other')).created, 'setup: book other');

SELECT entry_id AS e1, recorded_at AS e1_at FROM ledger.post_entry('rd:1',
    '[{"account": "cash", "amount": 1234, "currency": "USD"},
      {"account": "wallet", "amount": -1234, "currency": "USD"},
      {"account": "points_pool", "amount": 10, "currency": "JPY"},
      {"account": "points", "amount": -10, "currency": "JPY"}]',
    'Top-up with bonus', '{"order": "A-1"}', '2026-02-28') \gset
SELECT ok((ledger.post_entry('rd:2', '[{"account": "wallet", "amount": 234, "currency": "USD"},
                                      {"account": "cash", "amount": -234, "currency": "USD"}]')).created,
          'setup: a second entry');

-- get_balance().
SELECT results_eq(
    $$SELECT code, currency, exponent, type, status, balance, seq, lower_limit, upper_limit
        FROM ledger.get_balance('wallet')$$,
    $$VALUES ('wallet', 'USD', 2::smallint, 'liability', 'open', 1000::bigint, 2::bigint, 0::bigint, 50000::bigint)$$,
    'get_balance(wallet): every field, the balance on the normal (credit) side');
SELECT results_eq($$SELECT account_id FROM ledger.get_balance('wallet')$$,
                  $$SELECT account_id FROM ledger.accounts WHERE code = 'wallet'$$,
                  'get_balance() returns the account id');
SELECT results_eq($$SELECT balance, exponent FROM ledger.get_balance('points', 'default')$$,
                  $$VALUES (10::bigint, 0::smallint)$$, 'get_balance(points): 10 in a currency of exponent 0');
SELECT results_eq($$SELECT balance FROM ledger.get_balance('points_pool')$$, $$VALUES (-10::bigint)$$,
                  'a debited equity account has a negative normal balance');
SELECT throws_ok($$SELECT ledger.get_balance('ghost')$$, 'LD201', NULL, 'get_balance of an unknown account is LD201');
SELECT throws_ok($$SELECT ledger.get_balance(NULL)$$, 'LD201', NULL, 'get_balance of NULL is LD201');
SELECT throws_ok($$SELECT ledger.get_balance('cash', 'other')$$, 'LD201', NULL,
                 'an account of the default book is unknown in another (LD201)');
SELECT throws_ok($$SELECT ledger.get_balance('cash', 'no-such-book')$$, 'LD210', NULL, 'an unknown book is LD210');
SELECT throws_ok($$SELECT ledger.get_balance('cash', NULL)$$, 'LD101', NULL, 'get_balance with a NULL book is LD101');

-- get_entry().
SELECT results_eq(
    format('SELECT entry_id, idempotency_key, description, metadata, effective_date, recorded_at, reverses_entry_id,
                   reversed_by_entry_id FROM ledger.get_entry(%s)', :e1),
    format($$VALUES (%s::bigint, 'rd:1', 'Top-up with bonus', '{"order": "A-1"}'::jsonb, '2026-02-28'::date,
                     %L::timestamptz, NULL::bigint, NULL::bigint)$$, :e1, :'e1_at'),
    'get_entry(): the header');
SELECT is((ledger.get_entry(:e1)).legs,
          '[{"leg": 1, "account": "cash", "amount": 1234, "currency": "USD", "account_seq": 1, "balance_after": 1234},
            {"leg": 2, "account": "wallet", "amount": -1234, "currency": "USD", "account_seq": 1, "balance_after": 1234},
            {"leg": 3, "account": "points_pool", "amount": 10, "currency": "JPY", "account_seq": 1, "balance_after": -10},
            {"leg": 4, "account": "points", "amount": -10, "currency": "JPY", "account_seq": 1, "balance_after": 10}]'::jsonb,
          'get_entry(): the legs in order, amounts debit-positive, balance_after on the normal side');
SELECT throws_ok($$SELECT ledger.get_entry(-1)$$, 'LD208', NULL, 'get_entry of an unknown id is LD208');
SELECT throws_ok($$SELECT ledger.get_entry(NULL)$$, 'LD208', NULL, 'get_entry of NULL is LD208');
SELECT throws_ok(format($$SELECT ledger.get_entry(%s, 'other')$$, :e1), 'LD208', NULL,
                 'an entry of the default book is unknown in another (LD208)');
SELECT throws_ok(format($$SELECT ledger.get_entry(%s, 'no-such-book')$$, :e1), 'LD210', NULL, 'an unknown book is LD210');
SELECT throws_ok(format($$SELECT ledger.get_entry(%s, NULL)$$, :e1), 'LD101', NULL, 'get_entry with a NULL book is LD101');

-- get_entry_by_key().
SELECT results_eq($$SELECT * FROM ledger.get_entry_by_key('rd:1')$$, format('SELECT * FROM ledger.get_entry(%s)', :e1),
                  'get_entry_by_key() returns the same document as get_entry()');
SELECT throws_ok($$SELECT ledger.get_entry_by_key('rd:none')$$, 'LD208', NULL, 'an unknown key is LD208');
SELECT throws_ok($$SELECT ledger.get_entry_by_key('rd:1', 'other')$$, 'LD208', NULL,
                 'a key of the default book is unknown in another (LD208)');
SELECT throws_ok($$SELECT ledger.get_entry_by_key('rd:1', 'no-such-book')$$, 'LD210', NULL, 'an unknown book is LD210');
SELECT throws_ok($$SELECT ledger.get_entry_by_key('rd:1', NULL)$$, 'LD101', NULL, 'get_entry_by_key with a NULL book is LD101');
SELECT throws_ok($$SELECT ledger.get_entry_by_key(NULL)$$, 'LD208', NULL, 'get_entry_by_key of NULL is LD208');

-- Views.
SELECT results_eq(
    format($$SELECT book, idempotency_key, description, effective_date FROM ledger.entries WHERE entry_id = %s$$, :e1),
    $$VALUES ('default', 'rd:1', 'Top-up with bonus', '2026-02-28'::date)$$,
    'ledger.entries shows the header with its book');
SELECT results_eq(
    $$SELECT account, amount, account_seq, balance_after, effective_date FROM ledger.postings
       WHERE account = 'cash' ORDER BY account_seq$$,
    $$VALUES ('cash', 1234::bigint, 1::bigint, 1234::bigint, '2026-02-28'::date),
             ('cash', -234, 2, 1000, (now() AT TIME ZONE 'UTC')::date)$$,
    'ledger.postings is a statement: amount, account_seq, running balance and value date');
SELECT set_eq($$SELECT code FROM ledger.books$$, $$VALUES ('default'), ('other')$$, 'ledger.books lists both books');

SELECT * FROM finish();
ROLLBACK;
