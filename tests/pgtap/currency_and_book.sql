-- Currencies and books. ledger.create_currency() adds a custom asset (idempotent; another exponent or name is LD212;
-- invalid arguments LD101); ledger.create_book() adds a book (idempotent; another name is LD213; invalid code
-- LD101). Books are separate ledgers: the same account code in two books is two accounts, an entry in one book
-- never touches the other, and an unknown book is LD210.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(39);

-- Currencies.
SELECT results_eq($$SELECT exponent, iso4217 FROM ledger.currencies WHERE code IN ('USD', 'JPY', 'BHD') ORDER BY code$$,
                  $$VALUES (3::smallint, true), (0::smallint, true), (2::smallint, true)$$,
                  'seeded ISO 4217 currencies carry their exponent (BHD 3, JPY 0, USD 2)');
SELECT results_eq($$SELECT code, created FROM ledger.create_currency('PTS', 0, 'Loyalty points')$$,
                  $$VALUES ('PTS', true)$$, 'create_currency() adds a custom asset');
SELECT results_eq($$SELECT exponent, name, iso4217 FROM ledger.currencies WHERE code = 'PTS'$$,
                  $$VALUES (0::smallint, 'Loyalty points', false)$$, 'the asset is listed in ledger.currencies');
SELECT results_eq($$SELECT code, created FROM ledger.create_currency('PTS', 0, 'Loyalty points')$$,
                  $$VALUES ('PTS', false)$$, 'the same code and exponent again: created = false');
SELECT results_eq($$SELECT created FROM ledger.create_currency('PTS', 0)$$, $$VALUES (false)$$,
                  'a NULL name matches the existing one: created = false');
SELECT results_eq($$SELECT created FROM ledger.create_currency('USD', 2)$$, $$VALUES (false)$$,
                  'a seeded currency with its own exponent: created = false');
SELECT ok((ledger.create_currency('GOLD_G', 18)).created, 'an asset of exponent 18 without a name');
SELECT results_eq($$SELECT name, exponent FROM ledger.currencies WHERE code = 'GOLD_G'$$,
                  $$VALUES ('GOLD_G', 18::smallint)$$, 'without a name the code is the name; exponent 18 is allowed');
SELECT throws_ok($$SELECT ledger.create_currency('PTS', 2)$$, 'LD212', NULL,
                 'the same code with another exponent is LD212');
SELECT throws_ok($$SELECT ledger.create_currency('USD', 3)$$, 'LD212', NULL,
                 'a seeded currency with another exponent is LD212');
SELECT throws_ok($$SELECT ledger.create_currency('PTS', 0, 'Air miles')$$, 'LD212', NULL,
                 'the same code and exponent with another name is LD212');
SELECT throws_ok($$SELECT ledger.create_currency('pts', 0)$$, 'LD101', NULL, 'a lower-case code is LD101');
SELECT throws_ok($$SELECT ledger.create_currency(repeat('P', 17), 0)$$, 'LD101', NULL, 'a 17-character code is LD101');
SELECT throws_ok($$SELECT ledger.create_currency(NULL, 0)$$, 'LD101', NULL, 'a NULL code is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('XPT', 19)$$, 'LD101', NULL, 'exponent 19 is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('XPT', -1)$$, 'LD101', NULL, 'a negative exponent is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('XPT', NULL)$$, 'LD101', NULL, 'a NULL exponent is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('XPT', 2, '')$$, 'LD101', NULL, 'an empty name is LD101');
SELECT is_empty($$SELECT 1 FROM ledger.currencies WHERE code IN ('XPT', 'pts', repeat('P', 17))$$, 'no refused currency exists');

-- Books.
SELECT results_eq($$SELECT code, name FROM ledger.books WHERE book_id = 1$$, $$VALUES ('default', 'Default book')$$,
                  'the default book exists as book 1');
SELECT book_id AS b2 FROM ledger.create_book('eu-entity', 'EU entity') \gset
SELECT results_eq($$SELECT name FROM ledger.books WHERE code = 'eu-entity'$$, $$VALUES ('EU entity')$$,
                  'create_book() adds a book');
SELECT results_eq($$SELECT book_id, created FROM ledger.create_book('eu-entity', 'EU entity')$$,
                  format('VALUES (%s, false)', :b2), 'the same code and name again: created = false, same id');
SELECT throws_ok($$SELECT ledger.create_book('eu-entity', 'Another name')$$, 'LD213', NULL,
                 'the same code with another name is LD213');
SELECT throws_ok($$SELECT ledger.create_book('EU')$$, 'LD101', NULL, 'an upper-case book code is LD101');
SELECT throws_ok($$SELECT ledger.create_book(NULL)$$, 'LD101', NULL, 'a NULL book code is LD101');
SELECT throws_ok($$SELECT ledger.create_book('long-name', repeat('n', 201))$$, 'LD101', NULL,
                 'a book name of 201 characters is LD101');
SELECT throws_ok($$SELECT ledger.create_book('empty-name', '')$$, 'LD101', NULL, 'an empty book name is LD101');

-- Two books, one account code each, in a custom asset.
SELECT ok((ledger.create_account('points', 'PTS', 'liability')).created, 'setup: points (PTS) in the default book');
SELECT ok((ledger.create_account('points_pool', 'PTS', 'equity')).created, 'setup: points_pool (PTS) in the default book');
SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash (USD) in the default book only');
SELECT ok((ledger.create_account('points', 'PTS', 'liability', p_book => 'eu-entity')).created,
          'setup: points (PTS) in eu-entity');
SELECT ok((ledger.create_account('points_pool', 'PTS', 'equity', p_book => 'eu-entity')).created,
          'setup: points_pool (PTS) in eu-entity');
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('cb:1', '[{"account": "points_pool", "amount": 250, "currency": "PTS"},
                                                     {"account": "points", "amount": -250, "currency": "PTS"}]',
                                             p_book => 'eu-entity')$$,
    $$VALUES ('{"points": 250, "points_pool": -250}'::jsonb)$$,
    'an entry in eu-entity in a custom asset');
SELECT results_eq(
    $$SELECT book, code, balance FROM ledger.accounts WHERE code = 'points' ORDER BY book$$,
    $$VALUES ('default', 'points', 0::bigint), ('eu-entity', 'points', 250::bigint)$$,
    'the account of the same code in the default book is untouched');
SELECT results_eq($$SELECT balance, exponent FROM ledger.get_balance('points', 'eu-entity')$$,
                  $$VALUES (250::bigint, 0::smallint)$$, 'get_balance() per book, with the asset''s exponent');
SELECT is((SELECT error_code FROM ledger.post_entry('cb:2.1', '[{"account": "points_pool", "amount": 1, "currency": "PTS"},
                                                     {"account": "cash", "amount": -1, "currency": "PTS"}]',
                                             p_book => 'eu-entity')), 'LD201', 'an account that exists only in another book is LD201');
SELECT throws_ok($$SELECT ledger.post_entry('cb:2.2', '[{"account": "points_pool", "amount": 1, "currency": "USD"},
                                                     {"account": "points", "amount": -1, "currency": "USD"}]',
                                             p_book => 'eu-entity')$$,
                 'LD107', NULL, 'a USD leg on a PTS account is LD107');
SELECT throws_ok($$SELECT ledger.post_entry('cb:2.3', '[{"account": "points_pool", "amount": 1, "currency": "PTS"},
                                                     {"account": "points", "amount": -1, "currency": "PTS"}]',
                                             p_book => 'us-entity')$$,
                 'LD210', NULL, 'an unknown book is LD210');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
