-- ledger.post_entry() refuses malformed requests with the catalog's SQLSTATE (LD101-LD109, LD201, LD202,
-- LD210) and writes nothing; the boundaries themselves (100 legs, 8192 bytes of metadata, 255-character key,
-- 1000-character description) are accepted.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(48);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash (USD)');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability')).created, 'setup: liability wallet (USD)');
SELECT ok((ledger.create_account('eur_cash', 'EUR', 'asset')).created, 'setup: asset eur_cash (EUR)');
SELECT ok((ledger.create_account('old', 'USD', 'asset')).created, 'setup: asset old (USD)');
SELECT isnt((ledger.close_account('old')).closed_at, NULL, 'setup: old is closed');
SELECT ok((ledger.post_entry('v:0', '[{"account": "cash", "amount": 500, "currency": "USD"},
                                      {"account": "wallet", "amount": -500, "currency": "USD"}]')).created,
          'setup: an opening entry');

CREATE TEMP TABLE snap_account AS SELECT code, balance, seq, status FROM ledger_private.account;
CREATE TEMP TABLE snap_counts AS
    SELECT (SELECT count(*) FROM ledger_private.entry) AS entries, (SELECT count(*) FROM ledger_private.posting) AS postings;

-- The idempotency key, description and book.
SELECT throws_ok($$SELECT ledger.post_entry(NULL, '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                   {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a NULL idempotency key is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                 {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'an empty idempotency key is LD101');
SELECT throws_ok($$SELECT ledger.post_entry(repeat('k', 256), '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                               {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a 256-character idempotency key is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.1', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                            repeat('d', 1001))$$,
                 'LD101', NULL, 'a description of 1001 characters is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.2', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                            p_book => 'no-such-book')$$,
                 'LD210', NULL, 'an unknown book is LD210');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.3', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                            p_book => NULL)$$,
                 'LD101', NULL, 'a NULL book is LD101');

-- The legs array.
SELECT throws_ok($$SELECT ledger.post_entry('v:1.4', NULL)$$, 'LD101', NULL, 'NULL legs are LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.5', '{"account": "cash", "amount": 1, "currency": "USD"}')$$,
                 'LD101', NULL, 'legs that are not a JSON array are LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.6', '[]')$$, 'LD109', NULL, 'no legs is LD109');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.7', '[{"account": "cash", "amount": 1, "currency": "USD"}]')$$,
                 'LD109', NULL, 'one leg is LD109');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.8',
                     (SELECT jsonb_agg(jsonb_build_object('account', CASE WHEN i % 2 = 0 THEN 'cash' ELSE 'wallet' END,
                                                          'amount', CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END,
                                                          'currency', 'USD'))
                        FROM generate_series(1, 101) AS i))$$,
                 'LD104', NULL, '101 legs is LD104');

-- One leg.
SELECT throws_ok($$SELECT ledger.post_entry('v:1.9', '[1, 2]')$$, 'LD101', NULL, 'legs that are not objects are LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.10', '[{"account": "cash", "amount": 1, "currency": "USD", "memo": "x"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'an unknown field in a leg is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.11', '[{"amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a leg without account is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.12', '[{"account": 7, "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a numeric account code is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.13', '[{"account": "cash", "amount": 1},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a leg without currency is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.14', '[{"account": "cash", "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a leg without amount is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.15', '[{"account": "cash", "amount": 1.5, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1.5, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a non-integer amount (1.5) is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.16', '[{"account": "cash", "amount": "1.5", "currency": "USD"},
                                                    {"account": "wallet", "amount": "-1.5", "currency": "USD"}]')$$,
                 'LD101', NULL, 'a non-integer amount string ("1.5") is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.17', '[{"account": "cash", "amount": "12a", "currency": "USD"},
                                                    {"account": "wallet", "amount": -12, "currency": "USD"}]')$$,
                 'LD101', NULL, 'an amount string that is not a number is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.18', '[{"account": "cash", "amount": true, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]')$$,
                 'LD101', NULL, 'a boolean amount is LD101');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.19', '[{"account": "cash", "amount": 0, "currency": "USD"},
                                                    {"account": "wallet", "amount": 0, "currency": "USD"}]')$$,
                 'LD103', NULL, 'a zero amount is LD103');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.20', '[{"account": "cash", "amount": 5, "currency": "USD"},
                                                    {"account": "wallet", "amount": "0", "currency": "USD"},
                                                    {"account": "wallet", "amount": -5, "currency": "USD"}]')$$,
                 'LD103', NULL, 'a zero amount string among valid legs is LD103');

-- Balance.
SELECT throws_ok($$SELECT ledger.post_entry('v:1.21', '[{"account": "cash", "amount": 100, "currency": "USD"},
                                                    {"account": "wallet", "amount": -99, "currency": "USD"}]')$$,
                 'LD102', NULL, 'legs that do not sum to zero are LD102');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.22', '[{"account": "cash", "amount": 100, "currency": "USD"},
                                                    {"account": "eur_cash", "amount": -100, "currency": "EUR"}]')$$,
                 'LD102', NULL, 'legs that sum to zero only across currencies are LD102');

-- Metadata.
SELECT throws_ok($$SELECT ledger.post_entry('v:1.23', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                            NULL, jsonb_build_object('k', repeat('x', 8184)))$$,
                 'LD105', NULL, 'metadata of 8193 bytes is LD105');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.24', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                            NULL, '["not", "an", "object"]')$$,
                 'LD101', NULL, 'metadata that is not a JSON object is LD101');

-- Accounts and currencies.
SELECT throws_ok($$SELECT ledger.post_entry('v:1.25', '[{"account": "cash", "amount": 1, "currency": "EUR"},
                                                    {"account": "eur_cash", "amount": -1, "currency": "EUR"}]')$$,
                 'LD107', NULL, 'a leg in another currency than its account''s is LD107');
SELECT throws_ok($$SELECT ledger.post_entry('v:1.26', '[{"account": "cash", "amount": 1, "currency": "ZZZ"},
                                                    {"account": "wallet", "amount": -1, "currency": "ZZZ"}]')$$,
                 'LD108', NULL, 'an unknown currency code is LD108');
SELECT is((SELECT error_code FROM ledger.post_entry('v:1.27', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "nobody", "amount": -1, "currency": "USD"}]')), 'LD201', 'an unknown account is LD201');
SELECT is((SELECT error_code FROM ledger.post_entry('v:1.28', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                    {"account": "old", "amount": -1, "currency": "USD"}]')), 'LD202', 'a closed account is LD202');

-- Nothing was written by any refused request.
SELECT is((SELECT count(*) FROM ledger_private.entry), (SELECT entries FROM snap_counts),
          'no entry was written by a refused request');
SELECT is((SELECT count(*) FROM ledger_private.posting), (SELECT postings FROM snap_counts),
          'no posting was written by a refused request');
SELECT set_eq('SELECT code, balance, seq, status FROM ledger_private.account', 'SELECT * FROM snap_account',
              'no account balance, seq or status changed');
SELECT is_empty($$SELECT 1 FROM ledger_private.entry WHERE idempotency_key = 'v:1'$$,
                'the key of the refused requests is still free');

-- The boundaries are accepted.
SELECT results_eq(
    $$SELECT created, balances FROM ledger.post_entry('v:100legs',
        (SELECT jsonb_agg(jsonb_build_object('account', CASE WHEN i % 2 = 0 THEN 'cash' ELSE 'wallet' END,
                                             'amount', CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END,
                                             'currency', 'USD') ORDER BY i)
           FROM generate_series(1, 100) AS i))$$,
    $$VALUES (true, '{"cash": 550, "wallet": 550}'::jsonb)$$,
    '100 legs are accepted');
SELECT results_eq($$SELECT max(account_seq) FROM ledger.postings WHERE account = 'cash'$$,
                  $$VALUES (51::bigint)$$, 'the 50 legs on cash are numbered up to account_seq 51');
SELECT lives_ok($$SELECT ledger.post_entry('v:meta', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                       {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                           NULL, jsonb_build_object('k', repeat('x', 8183)))$$,
                'metadata of exactly 8192 bytes is accepted');
SELECT lives_ok($$SELECT ledger.post_entry(repeat('k', 255), '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                              {"account": "wallet", "amount": -1, "currency": "USD"}]',
                                           repeat('d', 1000))$$,
                'a 255-character key and a 1000-character description are accepted');
SELECT lives_ok($$SELECT ledger.post_entry('v:num', '[{"account": "cash", "amount": 1.0, "currency": "USD"},
                                                      {"account": "wallet", "amount": -1e0, "currency": "USD"}]')$$,
                'integral JSON numbers written as 1.0 or -1e0 are accepted');
SELECT is((SELECT balance FROM ledger.accounts WHERE code = 'cash'), 553::bigint, 'cash holds 500 + 50 + 1 + 1 + 1');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
