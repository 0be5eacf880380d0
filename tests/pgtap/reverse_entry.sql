-- ledger.reverse_entry(): posts the mirror image of an entry (every amount negated) linked to it, at most
-- once (LD209); idempotent by key like post_entry (replay: created = false, nothing written; another payload:
-- LD205); an ordinary posting, so it obeys limits (LD203) and closed accounts (LD202); a reversal can itself
-- be reversed. Unknown entry LD208, unknown book LD210, invalid arguments LD101.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(33);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: liability wallet, lower limit 0');
SELECT ok((ledger.create_account('fees', 'USD', 'income')).created, 'setup: income fees');
SELECT ok((ledger.create_account('temp', 'USD', 'asset')).created, 'setup: asset temp');
SELECT ok((ledger.create_book('elsewhere')).created, 'setup: book elsewhere');

SELECT entry_id AS e1 FROM ledger.post_entry('rv:1',
    '[{"account": "cash", "amount": 700, "currency": "USD"},
      {"account": "wallet", "amount": -650, "currency": "USD"},
      {"account": "fees", "amount": -50, "currency": "USD"}]', 'Top-up') \gset

-- The reversal.
SELECT results_eq(
    format($$SELECT created, balances FROM ledger.reverse_entry(%s, 'rv:1:reversal', 'duplicate charge')$$, :e1),
    $$VALUES (true, '{"cash": 0, "wallet": 0, "fees": 0}'::jsonb)$$,
    'reversing an entry posts its mirror and returns the balances (all back to 0)');
SELECT entry_id AS r1 FROM ledger.entries WHERE idempotency_key = 'rv:1:reversal' \gset
SELECT results_eq(
    format($$SELECT leg, account, amount, account_seq, balance_after FROM ledger.postings WHERE entry_id = %s ORDER BY leg$$, :r1),
    $$VALUES (1::smallint, 'cash', -700::bigint, 2::bigint, 0::bigint),
             (2::smallint, 'wallet', 650, 2, 0),
             (3::smallint, 'fees', 50, 2, 0)$$,
    'the reversal''s legs negate the original''s, in the same order, as each account''s next posting');
SELECT results_eq(
    format($$SELECT reverses_entry_id, description, metadata FROM ledger.entries WHERE entry_id = %s$$, :r1),
    format($$VALUES (%s::bigint, 'Reversal of entry %s: duplicate charge',
                     '{"reverses": %s, "reason": "duplicate charge"}'::jsonb)$$, :e1, :e1, :e1),
    'the reversal links to the original and records the reason');
SELECT results_eq(format('SELECT reversed_by_entry_id, reverses_entry_id FROM ledger.get_entry(%s)', :e1),
                  format('VALUES (%s::bigint, NULL::bigint)', :r1),
                  'get_entry() of the original names its reversal');
SELECT results_eq(
    format($$SELECT account, amount, account_seq FROM ledger.postings WHERE entry_id = %s ORDER BY leg$$, :e1),
    $$VALUES ('cash', 700::bigint, 1::bigint), ('wallet', -650, 1), ('fees', -50, 1)$$,
    'the original entry is unchanged');

-- A replay of the reversal writes nothing.
SELECT (SELECT count(*) FROM ledger_private.entry) AS entries_before,
       (SELECT count(*) FROM ledger_private.posting) AS postings_before,
       (SELECT seq FROM ledger_private.account WHERE code = 'cash') AS cash_seq_before \gset
SELECT results_eq(
    format($$SELECT entry_id, created FROM ledger.reverse_entry(%s, 'rv:1:reversal', 'duplicate charge')$$, :e1),
    format('VALUES (%s::bigint, false)', :r1),
    'a replay of the reversal returns it with created = false');
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM ledger_private.entry), (SELECT count(*) FROM ledger_private.posting),
             (SELECT seq FROM ledger_private.account WHERE code = 'cash')$$,
    format('VALUES (%s::bigint, %s::bigint, %s::bigint)', :entries_before, :postings_before, :cash_seq_before),
    'the replay wrote nothing');

-- Same key, other payload; another key for the same entry; the original's key.
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:1:reversal', 'another reason')$$, :e1),
                 'LD205', NULL, 'the reversal''s key with another reason is LD205');
SELECT is((SELECT error_code FROM ledger.reverse_entry(:e1, 'rv:1:reversal-again')), 'LD209', 'reversing an entry twice is LD209');
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:1')$$, :e1),
                 'LD205', NULL, 'reversing with the original entry''s key is LD205');
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM ledger_private.entry), (SELECT count(*) FROM ledger_private.posting)$$,
    format('VALUES (%s::bigint, %s::bigint)', :entries_before, :postings_before),
    'the refused reversals wrote nothing');

-- A reversal can be reversed (once).
SELECT results_eq(
    format($$SELECT created, balances FROM ledger.reverse_entry(%s, 'rv:1:reversal:reversal')$$, :r1),
    $$VALUES (true, '{"cash": 700, "wallet": 650, "fees": 50}'::jsonb)$$,
    'reversing the reversal restores the balances');
SELECT entry_id AS rr1 FROM ledger.entries WHERE idempotency_key = 'rv:1:reversal:reversal' \gset
SELECT is((SELECT error_code FROM ledger.reverse_entry(:r1, 'rv:1:reversal:reversal:2')), 'LD209', 'the reversal can be reversed only once too');

-- Reversals obey limits: the wallet has spent part of the top-up.
SELECT entry_id AS e2 FROM ledger.post_entry('rv:2',
    '[{"account": "wallet", "amount": 600, "currency": "USD"},
      {"account": "cash", "amount": -600, "currency": "USD"}]', 'Withdrawal') \gset
SELECT is((SELECT error_code FROM ledger.reverse_entry(:rr1, 'rv:1:reversal:reversal:reversal')), 'LD203', 'a reversal that would overdraw a wallet (lower limit 0) is LD203');

-- Reversals obey closed accounts.
SELECT entry_id AS e3 FROM ledger.post_entry('rv:3',
    '[{"account": "temp", "amount": 100, "currency": "USD"},
      {"account": "cash", "amount": -100, "currency": "USD"}]') \gset
SELECT ok((ledger.post_entry('rv:4', '[{"account": "cash", "amount": 100, "currency": "USD"},
                                      {"account": "temp", "amount": -100, "currency": "USD"}]')).created,
          'temp is emptied');
SELECT isnt((ledger.close_account('temp')).closed_at, NULL, 'temp is closed at zero balance');
SELECT results_eq($$SELECT status FROM ledger.accounts WHERE code = 'temp'$$, $$VALUES ('closed')$$, 'temp is closed');
SELECT is((SELECT error_code FROM ledger.reverse_entry(:e3, 'rv:3:reversal')), 'LD202', 'a reversal touching a closed account is LD202');

-- Unknown entries and invalid arguments.
SELECT throws_ok($$SELECT ledger.reverse_entry(-1, 'rv:x')$$, 'LD208', NULL, 'reversing an unknown entry is LD208');
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:x', p_book => 'elsewhere')$$, :e2),
                 'LD208', NULL, 'an entry of another book is unknown in this one (LD208)');
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:x', p_book => 'no-such-book')$$, :e2),
                 'LD210', NULL, 'an unknown book is LD210');
SELECT throws_ok($$SELECT ledger.reverse_entry(NULL, 'rv:x')$$, 'LD101', NULL, 'a NULL entry id is LD101');
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:x', p_book => NULL)$$, :e2), 'LD101', NULL,
                 'a NULL book is LD101');
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, NULL)$$, :e2), 'LD101', NULL, 'a NULL key is LD101');
SELECT throws_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:x', repeat('r', 901))$$, :e2),
                 'LD101', NULL, 'a reason of 901 characters is LD101');
SELECT lives_ok(format($$SELECT ledger.reverse_entry(%s, 'rv:2:reversal', repeat('r', 900))$$, :e2),
                'a reason of 900 characters is accepted');

SELECT results_eq($$SELECT code, balance FROM ledger.accounts ORDER BY code$$,
                  $$VALUES ('cash', 700::bigint), ('fees', 50::bigint), ('temp', 0::bigint), ('wallet', 650::bigint)$$,
                  'final balances');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() (including the mirror-image check) returns no rows');

SELECT * FROM finish();
ROLLBACK;
