-- ledger.post_entry() is idempotent by key: a replay of the same request returns the original entry with
-- created = false and writes nothing (no entry, no posting, no account change); the same key with another
-- payload is LD205 and changes nothing; keys are unique per book.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(29);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: liability wallet');
SELECT ok((ledger.create_book('second', 'Second book')).created, 'setup: book second');
SELECT ok((ledger.create_account('cash', 'USD', 'asset', p_book => 'second')).created, 'setup: cash in book second');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0, p_book => 'second')).created, 'setup: wallet in book second');

-- The original request.
SELECT entry_id AS first_id, created AS first_created, recorded_at AS first_recorded_at, balances AS first_balances
  FROM ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01') \gset
SELECT ok(:'first_created'::boolean, 'the first call creates the entry');
SELECT is(:'first_balances'::jsonb, '{"cash": 700, "wallet": 700}'::jsonb, 'the first call returns the new balances');

-- State before the replays.
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before \gset
CREATE TEMP TABLE snap_account AS SELECT book_id, code, balance, seq FROM ledger_private.account;

-- A replay: the same key and the same request.
SELECT results_eq(
    $$SELECT entry_id, created, recorded_at, balances FROM ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01')$$,
    format('VALUES (%s::bigint, false, %L::timestamptz, %L::jsonb)', :first_id, :'first_recorded_at', :'first_balances'),
    'a replay returns the same entry id, recorded_at and balances with created = false');
SELECT is((SELECT count(*) FROM ledger_private.entry), :entries_before::bigint, 'the replay wrote no entry');
SELECT is((SELECT count(*) FROM ledger_private.posting), :postings_before::bigint, 'the replay wrote no posting');
SELECT set_eq('SELECT book_id, code, balance, seq FROM ledger_private.account', 'SELECT * FROM snap_account',
              'the replay changed no account balance or seq');
SELECT results_eq($$SELECT seq FROM ledger.get_balance('cash')$$, $$VALUES (1::bigint)$$,
                  'cash still has exactly one posting');

-- The request is compared in canonical form: amounts as strings are the same request.
SELECT results_eq(
    $$SELECT entry_id, created FROM ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": "700", "currency": "USD"},
          {"account": "wallet", "amount": "-700", "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01')$$,
    format('VALUES (%s::bigint, false)', :first_id),
    'a replay with the amounts written as strings is the same request');
SELECT results_eq(
    $$SELECT entry_id, created FROM ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 7e2, "currency": "USD"},
          {"account": "wallet", "amount": -700.0, "currency": "USD"}]',
        'Top-up', '{ "order" : 42 }', '2026-03-01')$$,
    format('VALUES (%s::bigint, false)', :first_id),
    'amounts as 7e2 or -700.0 and metadata whitespace make no difference either');

-- A later entry changes balances; a replay still answers with the original entry's result.
SELECT ok((ledger.post_entry('idem:2', '[{"account": "wallet", "amount": 200, "currency": "USD"},
                                         {"account": "cash", "amount": -200, "currency": "USD"}]')).created,
          'another entry moves the balances');
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before \gset
DELETE FROM snap_account;  -- a temp table of this test, not the journal
INSERT INTO snap_account SELECT book_id, code, balance, seq FROM ledger_private.account;
SELECT results_eq(
    $$SELECT entry_id, created, balances FROM ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01')$$,
    format('VALUES (%s::bigint, false, %L::jsonb)', :first_id, :'first_balances'),
    'a later replay returns the original result');

-- The same key with another payload: LD205, nothing changes.
SELECT throws_ok($$SELECT ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 701, "currency": "USD"},
          {"account": "wallet", "amount": -701, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01')$$,
    'LD205', NULL, 'the same key with another amount is LD205');
SELECT throws_ok($$SELECT ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up (edited)', '{"order": 42}', '2026-03-01')$$,
    'LD205', NULL, 'the same key with another description is LD205');
SELECT throws_ok($$SELECT ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up', '{"order": 43}', '2026-03-01')$$,
    'LD205', NULL, 'the same key with other metadata is LD205');
SELECT throws_ok($$SELECT ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-02')$$,
    'LD205', NULL, 'the same key with another effective date is LD205');
SELECT throws_ok($$SELECT ledger.post_entry('idem:1',
        '[{"account": "wallet", "amount": -700, "currency": "USD"},
          {"account": "cash", "amount": 700, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01')$$,
    'LD205', NULL, 'the same key with the legs in another order is LD205');
SELECT is((SELECT count(*) FROM ledger_private.entry), :entries_before::bigint, 'LD205 wrote no entry');
SELECT is((SELECT count(*) FROM ledger_private.posting), :postings_before::bigint, 'LD205 wrote no posting');
SELECT set_eq('SELECT book_id, code, balance, seq FROM ledger_private.account', 'SELECT * FROM snap_account',
              'LD205 changed no account balance or seq');
SELECT results_eq($$SELECT entry_id, description FROM ledger.get_entry_by_key('idem:1')$$,
                  format($$VALUES (%s::bigint, 'Top-up')$$, :first_id),
                  'the key still maps to the original entry');

-- Keys are unique per book: the same key in another book is a new entry.
SELECT results_eq(
    $$SELECT created, entry_id <> $$ || :first_id || $$ FROM ledger.post_entry('idem:1',
        '[{"account": "cash", "amount": 700, "currency": "USD"},
          {"account": "wallet", "amount": -700, "currency": "USD"}]',
        'Top-up', '{"order": 42}', '2026-03-01', p_book => 'second')$$,
    $$VALUES (true, true)$$,
    'the same key in another book creates a new entry');
SELECT results_eq($$SELECT balance FROM ledger.get_balance('cash', 'second')$$, $$VALUES (700::bigint)$$,
                  'the other book''s account moved');
SELECT results_eq($$SELECT balance, seq FROM ledger.get_balance('cash')$$, $$VALUES (500::bigint, 2::bigint)$$,
                  'the default book''s account did not');

SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
