-- ledger.create_account(): opens an account at balance 0; idempotent by code (same attributes: created =
-- false, same id); different attributes are LD206; invalid arguments LD101, unknown currency LD108, oversized
-- metadata LD105, unknown book LD210. Codes are unique per book.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(43);

SELECT account_id AS wallet_id, created AS wallet_created
  FROM ledger.create_account('wallet:alice', 'USD', 'liability', 0, 100000, '{"owner": "alice"}') \gset
SELECT ok(:'wallet_created'::boolean, 'a new account is created');
SELECT results_eq(
    $$SELECT book, code, currency, type, normal_side, status, balance, debit_balance, postings,
             lower_limit, upper_limit, metadata, closed_at
        FROM ledger.accounts WHERE code = 'wallet:alice'$$,
    $$VALUES ('default', 'wallet:alice', 'USD', 'liability', 'credit', 'open', 0::bigint, 0::bigint, 0::bigint,
              0::bigint, 100000::bigint, '{"owner": "alice"}'::jsonb, NULL::timestamptz)$$,
    'ledger.accounts shows the new account open at zero with its attributes');
SELECT results_eq(
    $$SELECT account_id, code, currency, exponent, type, status, balance, seq, lower_limit, upper_limit
        FROM ledger.get_balance('wallet:alice')$$,
    format($$VALUES (%s::bigint, 'wallet:alice', 'USD', 2::smallint, 'liability', 'open', 0::bigint, 0::bigint,
                     0::bigint, 100000::bigint)$$, :wallet_id),
    'get_balance(): balance 0, seq 0, currency exponent 2');

-- Idempotent by code.
SELECT results_eq(
    $$SELECT account_id, created FROM ledger.create_account('wallet:alice', 'USD', 'liability', 0, 100000,
                                                            '{"owner": "alice"}')$$,
    format('VALUES (%s::bigint, false)', :wallet_id),
    'the same code with the same attributes returns the existing account, created = false');
SELECT ok((ledger.create_account('plain', 'EUR', 'asset')).created, 'an account without limits or metadata');
SELECT results_eq($$SELECT created FROM ledger.create_account('plain', 'EUR', 'asset', NULL, NULL, '{}')$$,
                  $$VALUES (false)$$, 'NULL metadata and {} are the same attributes');

-- Each type and its normal side.
SELECT ok((ledger.create_account('t:asset', 'USD', 'asset')).created, 'type asset');
SELECT ok((ledger.create_account('t:liability', 'USD', 'liability')).created, 'type liability');
SELECT ok((ledger.create_account('t:equity', 'USD', 'equity')).created, 'type equity');
SELECT ok((ledger.create_account('t:income', 'USD', 'income')).created, 'type income');
SELECT ok((ledger.create_account('t:expense', 'USD', 'expense')).created, 'type expense');
SELECT results_eq(
    $$SELECT type, normal_side FROM ledger.accounts WHERE code LIKE 't:%' ORDER BY type$$,
    $$VALUES ('asset', 'debit'), ('equity', 'credit'), ('expense', 'debit'), ('income', 'credit'), ('liability', 'credit')$$,
    'asset and expense are debit-normal; liability, equity and income credit-normal');
SELECT ok((ledger.create_account('A-z_0.9:@/+x', 'USD', 'asset')).created,
          'an account code may use letters, digits and _ . : @ / + -');
SELECT ok((ledger.create_account(repeat('c', 200), 'USD', 'asset')).created, 'a 200-character code is accepted');
SELECT ok((ledger.create_account('overdraft', 'USD', 'asset', -500, 0)).created,
          'limits may be [-500, 0] (they include the opening balance 0)');

-- Same code, different attributes: LD206.
SELECT throws_ok($$SELECT ledger.create_account('wallet:alice', 'EUR', 'liability', 0, 100000, '{"owner": "alice"}')$$,
                 'LD206', NULL, 'the same code with another currency is LD206');
SELECT throws_ok($$SELECT ledger.create_account('wallet:alice', 'USD', 'asset', 0, 100000, '{"owner": "alice"}')$$,
                 'LD206', NULL, 'the same code with another type is LD206');
SELECT throws_ok($$SELECT ledger.create_account('wallet:alice', 'USD', 'liability', NULL, 100000, '{"owner": "alice"}')$$,
                 'LD206', NULL, 'the same code with another lower limit is LD206');
SELECT throws_ok($$SELECT ledger.create_account('wallet:alice', 'USD', 'liability', 0, 5000, '{"owner": "alice"}')$$,
                 'LD206', NULL, 'the same code with another upper limit is LD206');
SELECT throws_ok($$SELECT ledger.create_account('wallet:alice', 'USD', 'liability', 0, 100000, '{"owner": "bob"}')$$,
                 'LD206', NULL, 'the same code with other metadata is LD206');

SELECT (SELECT count(*) FROM ledger_private.account) AS accounts_before \gset

-- Invalid arguments: LD101.
SELECT throws_ok($$SELECT ledger.create_account(NULL, 'USD', 'asset')$$, 'LD101', NULL, 'a NULL code is LD101');
SELECT throws_ok($$SELECT ledger.create_account('', 'USD', 'asset')$$, 'LD101', NULL, 'an empty code is LD101');
SELECT throws_ok($$SELECT ledger.create_account('has space', 'USD', 'asset')$$, 'LD101', NULL,
                 'a code with a space is LD101');
SELECT throws_ok($$SELECT ledger.create_account('-lead', 'USD', 'asset')$$, 'LD101', NULL,
                 'a code starting with - is LD101');
SELECT throws_ok($$SELECT ledger.create_account(repeat('c', 201), 'USD', 'asset')$$, 'LD101', NULL,
                 'a 201-character code is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'revenue')$$, 'LD101', NULL, 'an unknown type is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', NULL)$$, 'LD101', NULL, 'a NULL type is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', 10, 5)$$, 'LD101', NULL,
                 'a lower limit above the upper limit is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', 1)$$, 'LD101', NULL,
                 'a lower limit above 0 (excluding the opening balance) is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', NULL, -1)$$, 'LD101', NULL,
                 'an upper limit below 0 is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', p_metadata => '[1]')$$, 'LD101', NULL,
                 'metadata that is not a JSON object is LD101');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', p_book => NULL)$$, 'LD101', NULL,
                 'a NULL book is LD101');
-- Unknown currency, oversized metadata, unknown book.
SELECT throws_ok($$SELECT ledger.create_account('x', 'ZZZ', 'asset')$$, 'LD108', NULL, 'an unknown currency is LD108');
SELECT throws_ok($$SELECT ledger.create_account('x', 'usd', 'asset')$$, 'LD108', NULL,
                 'currency codes are case-sensitive: usd is LD108');
SELECT throws_ok($$SELECT ledger.create_account('x', NULL, 'asset')$$, 'LD108', NULL, 'a NULL currency is LD108');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', p_metadata => jsonb_build_object('k', repeat('x', 8184)))$$,
                 'LD105', NULL, 'metadata of 8193 bytes is LD105');
SELECT throws_ok($$SELECT ledger.create_account('x', 'USD', 'asset', p_book => 'no-such-book')$$, 'LD210', NULL,
                 'an unknown book is LD210');
SELECT is((SELECT count(*) FROM ledger_private.account), :accounts_before::bigint, 'no refused call created an account');

-- Codes are unique per book.
SELECT ok((ledger.create_book('other')).created, 'setup: book other');
SELECT results_eq(
    $$SELECT created, account_id <> $$ || :wallet_id || $$ FROM ledger.create_account('wallet:alice', 'EUR', 'asset', p_book => 'other')$$,
    $$VALUES (true, true)$$,
    'the same code in another book is a different account (with its own attributes)');
SELECT results_eq(
    $$SELECT book, currency, type FROM ledger.accounts WHERE code = 'wallet:alice' ORDER BY book$$,
    $$VALUES ('default', 'USD', 'liability'), ('other', 'EUR', 'asset')$$,
    'each book keeps its own account');
SELECT ok((ledger.create_account('x', 'USD', 'asset', 0, NULL, '{}', 'default')).created,
          'the book may be named explicitly');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check() returns no rows');

SELECT * FROM finish();
ROLLBACK;
