-- The codes real instruments and charts of accounts use (docs/sql-api.md §4). Currency and asset codes: 1-16
-- characters of A-Z, 0-9, '.', '-', '_', starting with a letter or a digit and holding a letter (BRK.B, VWCE-DE,
-- X). Account codes: letters of any script, digits and _ . : @ / + -, 1-200 characters, stored in Unicode NFC;
-- create_account and close_account normalise what they are given, so NFD finds the same account. The table
-- checks refuse what the functions refuse whatever writes it. And a lower limit of -2^63 is LD101.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(33);

-- Currency and asset codes.
SELECT ok((ledger.create_currency('BRK.B', 0, 'Berkshire Hathaway B')).created, 'a share class: BRK.B');
SELECT ok((ledger.create_currency('VWCE-DE', 0, 'Vanguard FTSE All-World, Xetra')).created, 'a listing: VWCE-DE');
SELECT ok((ledger.create_currency('X', 0)).created, 'a one-character code');
SELECT ok((ledger.create_currency('0700.HK', 0)).created, 'a code starting with a digit');
SELECT ok((ledger.create_currency('ABCDEFGHIJ.KLM-N', 4)).created, 'a 16-character code');
SELECT ok(NOT (ledger.create_currency('BRK.B', 0)).created, 'idempotent as before');
SELECT throws_ok($$SELECT ledger.create_currency('ABCDEFGHIJ.KLM-NO', 0)$$, 'LD101', NULL, '17 characters are LD101');
SELECT throws_ok($$SELECT ledger.create_currency('brk.b', 0)$$, 'LD101', NULL, 'lower case is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('.B', 0)$$, 'LD101', NULL, 'a leading "." is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('1234', 0)$$, 'LD101', NULL, 'digits only (reads as an amount) are LD101');
SELECT throws_ok($$SELECT ledger.create_currency('BRK B', 0)$$, 'LD101', NULL, 'a space is LD101');
SELECT throws_ok($$SELECT ledger.create_currency('', 0)$$, 'LD101', NULL, 'an empty code is LD101');
SELECT throws_ok($$INSERT INTO ledger_private.currency (code, exponent, name) VALUES ('1234', 0, 'n')$$, '23514', NULL,
                 'the table refuses what create_currency refuses');

-- Postings in them.
SELECT ok((ledger.create_account('Assets:Broker:BRK.B', 'BRK.B', 'asset')).created, 'an account in BRK.B');
SELECT ok((ledger.create_account('Equity:Opening', 'BRK.B', 'equity')).created, 'and its counterpart');
SELECT results_eq(
    $$SELECT balances FROM ledger.post_entry('buy:1', '[{"account": "Assets:Broker:BRK.B", "amount": 7, "currency": "BRK.B"},
                                                        {"account": "Equity:Opening", "amount": -7, "currency": "BRK.B"}]')$$,
    $$VALUES ('{"Equity:Opening": 7, "Assets:Broker:BRK.B": 7}'::jsonb)$$, 'an entry in BRK.B posts');

-- Account codes in any script, in NFC.
SELECT ok((ledger.create_account('Assets:Café', 'EUR', 'asset')).created, 'a Latin letter with an accent');
SELECT ok((ledger.create_account('Активы:Банк', 'EUR', 'asset')).created, 'Cyrillic');
SELECT ok((ledger.create_account('資産:現金', 'JPY', 'asset')).created, 'CJK');
SELECT ok((ledger.create_account('Ñandú_1/2+x@y.z-w', 'EUR', 'asset')).created, 'every punctuation allowed');
SELECT results_eq($$SELECT account_id, created FROM ledger.create_account(U&'Assets:Cafe\0301', 'EUR', 'asset')$$,
                  $$SELECT account_id, false FROM ledger.accounts WHERE code = 'Assets:Café'$$,
                  'the same code typed in NFD (e + combining acute) is the same account, a replay');
SELECT is((SELECT count(*)::int FROM ledger.accounts WHERE code LIKE 'Assets:Caf%'), 1, 'one account, not two');
SELECT is((SELECT code FROM ledger.accounts WHERE code LIKE 'Assets:Caf%'), normalize(U&'Assets:Cafe\0301', NFC),
          'stored in NFC');
SELECT throws_ok($$SELECT ledger.create_account('Assets:☕', 'EUR', 'asset')$$, 'LD101', NULL,
                 'a symbol that is not a letter is LD101');
SELECT throws_ok($$SELECT ledger.create_account('Assets Café', 'EUR', 'asset')$$, 'LD101', NULL, 'a space is LD101');
SELECT throws_ok($$SELECT ledger.create_account(':Café', 'EUR', 'asset')$$, 'LD101', NULL,
                 'a leading ":" is LD101');
SELECT throws_ok($$SELECT ledger.create_account(repeat('é', 201), 'EUR', 'asset')$$, 'LD101', NULL,
                 '201 characters are LD101');
SELECT ok((ledger.create_account(repeat('é', 200), 'EUR', 'asset')).created, '200 characters (400 bytes) are fine');
SELECT throws_ok($$INSERT INTO ledger_private.account (book_id, code, currency, type)
                   VALUES (1, U&'Assets:Tee\0301', 'EUR', 'asset')$$, '23514', NULL,
                 'the table refuses a code not in NFC, whatever writes it');
SELECT results_eq($$SELECT account_id FROM ledger.close_account(U&'Assets:Cafe\0301')$$,
                  $$SELECT account_id FROM ledger.accounts WHERE code = 'Assets:Café'$$,
                  'close_account finds the account by its NFD spelling');

-- Limits: -2^63 is never a balance.
SELECT throws_ok($$SELECT ledger.create_account('low', 'USD', 'asset', -9223372036854775808)$$, 'LD101', NULL,
                 'a lower limit of -2^63 is LD101');
SELECT ok((ledger.create_account('low', 'USD', 'asset', -9223372036854775807)).created,
          'a lower limit of -(2^63-1) is the lowest');
SELECT is_empty($$SELECT 1 FROM ledger.accounts WHERE lower_limit = -9223372036854775808$$,
                'no account has the refused limit');

SELECT * FROM finish();
ROLLBACK;
