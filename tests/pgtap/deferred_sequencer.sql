-- The sequencer (READ COMMITTED): folds queued legs into the stored balance and count in queue order, numbers
-- them 1, 2, 3 ... per account with running balances, keeps books_check clean, honours p_max, and is a no-op
-- when the queue is empty. Postings need SERIALIZABLE, so this file builds the queue as post_entry leaves it.
BEGIN;
SELECT plan(12);

INSERT INTO ledger_private.account (book_id, code, currency, type, deferred) VALUES
    (1, 'seq:fees', 'USD', 'income', true), (1, 'seq:bank', 'USD', 'asset', false);
-- three entries crediting the fee account 100, 200, 300 against the (ordinary) bank account
WITH e AS (
    INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
    SELECT 1, 'seq:' || i, sha256(i::text::bytea), current_date FROM generate_series(1, 3) AS i
    RETURNING entry_id, idempotency_key
), n AS (SELECT entry_id, substr(idempotency_key, 5)::int AS i FROM e)
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
SELECT 1, n.entry_id, 1, (SELECT account_id FROM ledger_private.account WHERE code = 'seq:bank'), 100 * n.i, 'USD',
       n.i, 100 * n.i * (n.i + 1) / 2 FROM n
UNION ALL
SELECT 1, n.entry_id, 2, (SELECT account_id FROM ledger_private.account WHERE code = 'seq:fees'), -100 * n.i, 'USD',
       NULL, NULL FROM n;
UPDATE ledger_private.account SET balance = 600, seq = 3 WHERE code = 'seq:bank';
INSERT INTO ledger_private.deferred_leg (book_id, account_id, entry_id, leg, amount)
SELECT p.book_id, p.account_id, p.entry_id, p.leg, p.amount FROM ledger_private.posting AS p
 WHERE p.account_seq IS NULL ORDER BY p.entry_id;

SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check holds with three legs queued');
SELECT throws_ok('SELECT ledger.sequence_deferred(0)', 'LD101', NULL, 'p_max must be positive');
SELECT is(ledger.sequence_deferred(2), 2, 'p_max = 2 folds two legs');
SELECT is((SELECT balance || '/' || seq FROM ledger_private.account WHERE code = 'seq:fees'), '-300/2',
          'the stored balance and count now hold the two oldest legs');
SELECT is((SELECT balance FROM ledger.get_balance('seq:fees')), 600::bigint, 'the balance is exact throughout');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check holds half-way');
SELECT is(ledger.sequence_deferred(), 1, 'the next run folds the last leg');
SELECT is(ledger.sequence_deferred(), 0, 'an empty queue is a no-op');
SELECT results_eq(
    $$SELECT account_seq, balance_after FROM ledger.postings WHERE account = 'seq:fees' ORDER BY account_seq$$,
    $$VALUES (1::bigint, 100::bigint), (2::bigint, 300::bigint), (3::bigint, 600::bigint)$$,
    'legs are numbered in queue order with running (normal) balances');
SELECT is((SELECT balance || '/' || postings || '/' || queued FROM ledger.accounts WHERE code = 'seq:fees'), '600/3/0',
          'ledger.accounts after sequencing');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check holds after sequencing');
SELECT throws_ok($$UPDATE ledger_private.deferred_sequence SET balance_after = 0$$, 'LD302', NULL,
                 'the assigned sequence is append-only');

SELECT * FROM finish();
ROLLBACK;
