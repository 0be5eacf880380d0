-- ledger.books_check() returns no rows for books written through the API, and one row per violated invariant
-- when the tables are tampered with directly (here: as the superuser, with the columns and inserts the
-- append-only triggers leave open), proving the audit actually looks.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(16);

SELECT has_function('ledger', 'books_check', ARRAY[]::text[], 'ledger.books_check() exists');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'an empty ledger passes books_check()');

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: asset cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: liability wallet, lower limit 0');
SELECT ok((ledger.create_account('eur', 'EUR', 'asset')).created, 'setup: asset eur');
SELECT ok((ledger.create_account('eur_wallet', 'EUR', 'liability')).created, 'setup: liability eur_wallet');
SELECT ok((ledger.post_entry('bc:1', '[{"account": "cash", "amount": 500, "currency": "USD"},
                                      {"account": "wallet", "amount": -500, "currency": "USD"},
                                      {"account": "eur", "amount": 70, "currency": "EUR"},
                                      {"account": "eur_wallet", "amount": -70, "currency": "EUR"}]')).created,
          'setup: an entry in two currencies');
SELECT entry_id AS e2 FROM ledger.post_entry('bc:2', '[{"account": "wallet", "amount": 200, "currency": "USD"},
                                                       {"account": "cash", "amount": -200, "currency": "USD"}]') \gset
SELECT ok((ledger.reverse_entry(:e2, 'bc:2:reversal')).created, 'setup: a reversal');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books written through the API pass books_check()');

-- Tampering, one invariant at a time (the findings accumulate).
UPDATE ledger_private.account SET balance = balance + 1 WHERE code = 'cash';
SELECT set_eq('SELECT check_name, subject FROM ledger.books_check()', $$VALUES ('account_balance', 'cash')$$,
              'a stored balance that differs from its postings is reported (account_balance)');
SELECT results_eq($$SELECT net FROM ledger.trial_balance WHERE currency = 'USD'$$, $$VALUES (1::numeric)$$,
                  'the trial balance no longer nets to zero');

UPDATE ledger_private.account SET lower_limit = 1000 WHERE code = 'wallet';
SELECT set_eq('SELECT check_name, subject FROM ledger.books_check()',
              $$VALUES ('account_balance', 'cash'), ('limits', 'wallet')$$,
              'a balance outside its limits is reported (limits)');

INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
     VALUES (1, 'bc:forged', sha256('forged'::bytea), current_date);
SELECT entry_id AS forged FROM ledger_private.entry WHERE idempotency_key = 'bc:forged' \gset
SELECT set_eq('SELECT check_name, subject FROM ledger.books_check()',
              format($$VALUES ('account_balance', 'cash'), ('limits', 'wallet'), ('entry_balanced', 'entry %s')$$, :forged),
              'an entry without legs is reported (entry_balanced)');
SELECT results_eq(format($$SELECT detail FROM ledger.books_check() WHERE subject = 'entry %s'$$, :forged),
                  $$VALUES ('has 0 legs')$$, 'the finding says why');

INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
     VALUES (1, :forged, 1, -1, 5, 'USD', 1, 5);
SELECT set_eq('SELECT check_name, subject FROM ledger.books_check()',
              format($$VALUES ('account_balance', 'cash'), ('limits', 'wallet'), ('entry_balanced', 'entry %s'),
                              ('posting_refs', 'entry %s leg 1'), ('currency_sum', 'USD')$$, :forged, :forged),
              'a lone posting on a missing account is reported (entry_balanced, posting_refs, currency_sum)');
SELECT results_eq($$SELECT detail FROM ledger.books_check() WHERE check_name = 'posting_refs'$$,
                  $$VALUES ('account -1 does not exist')$$, 'posting_refs names the missing account');

SELECT * FROM finish();
ROLLBACK;
