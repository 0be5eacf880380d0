-- Regression (found by tests/python/test_fuzz.py): one deferred account whose queued legs take it beyond the
-- 64-bit range made every sequencer pass fail (LD211), so no account was folded any more. Leaving its legs
-- queued is not enough: they are the oldest in the queue, and a pass that picks the oldest p_max legs and then
-- skips them folds nothing once that account has p_max legs queued. The sequencer leaves such accounts out
-- before it picks its batch (with a WARNING) and folds the others; books_check() reports them. Also:
-- books_check() computes running balances in numeric, so a tampered balance_after is reported, not a 22003.
-- The sequencer runs READ COMMITTED, postings SERIALIZABLE: the queue is built here as post_entry leaves it.
BEGIN;
SELECT plan(12);

INSERT INTO ledger_private.account (book_id, code, currency, type, deferred) VALUES
    (1, 'sr:hot', 'USD', 'income', true), (1, 'sr:fees', 'USD', 'income', true),
    (1, 'sr:a', 'USD', 'asset', false), (1, 'sr:b', 'USD', 'asset', false), (1, 'sr:c', 'USD', 'asset', false);
-- three entries: 2^62 from sr:a and from sr:b to sr:hot (queued: together 2^63), 5 from sr:c to sr:fees (queued)
WITH e AS (
    INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
    SELECT 1, 'sr:' || i, sha256(i::text::bytea), current_date FROM generate_series(1, 3) AS i
    RETURNING entry_id, substr(idempotency_key, 4)::int AS i
), legs AS (
    SELECT e.entry_id, e.i,
           CASE e.i WHEN 1 THEN 'sr:a' WHEN 2 THEN 'sr:b' ELSE 'sr:c' END AS debit,
           CASE e.i WHEN 3 THEN 'sr:fees' ELSE 'sr:hot' END AS credit,
           CASE e.i WHEN 3 THEN 5 ELSE 4611686018427387904 END AS amount
      FROM e
)
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
SELECT 1, l.entry_id, 1, (SELECT account_id FROM ledger_private.account WHERE code = l.debit), l.amount, 'USD', 1, l.amount
  FROM legs AS l
UNION ALL
SELECT 1, l.entry_id, 2, (SELECT account_id FROM ledger_private.account WHERE code = l.credit), -l.amount, 'USD', NULL, NULL
  FROM legs AS l;
UPDATE ledger_private.account AS a SET balance = p.amount, seq = 1
  FROM ledger_private.posting AS p WHERE p.account_id = a.account_id AND p.account_seq = 1;
INSERT INTO ledger_private.deferred_leg (book_id, account_id, entry_id, leg, amount)
SELECT p.book_id, p.account_id, p.entry_id, p.leg, p.amount FROM ledger_private.posting AS p
 WHERE p.account_seq IS NULL ORDER BY p.entry_id;

SELECT results_eq($$SELECT check_name, subject FROM ledger.books_check()$$,
                  $$VALUES ('balance_range', 'sr:hot')$$,
                  'books_check reports sr:hot beyond 64 bits, nothing else');
SELECT is(ledger.sequence_deferred(2), 1,
          'a pass of 2 legs folds sr:fees'' leg: sr:hot''s two legs, older and unfoldable, do not take up the batch');
SELECT is((SELECT balance FROM ledger.get_balance('sr:fees')), 5::bigint, 'sr:fees is folded: balance 5');
SELECT results_eq($$SELECT account_seq, balance_after FROM ledger.postings WHERE account = 'sr:fees'$$,
                  $$VALUES (1::bigint, 5::bigint)$$, 'sr:fees'' leg got its sequence number and running balance');
SELECT is((SELECT count(*)::int FROM ledger_private.deferred_leg AS d JOIN ledger_private.account AS a
             USING (book_id, account_id) WHERE a.code = 'sr:hot'), 2, 'sr:hot''s legs are still queued');
SELECT is((SELECT balance || '/' || seq FROM ledger_private.account WHERE code = 'sr:hot'), '0/0',
          'sr:hot''s stored balance and count are untouched');
SELECT is(ledger.sequence_deferred(), 0, 'the next pass has nothing it can fold');
SELECT results_eq($$SELECT check_name, subject FROM ledger.books_check()$$,
                  $$VALUES ('balance_range', 'sr:hot')$$, 'and books_check still reports exactly that');

-- An account whose queued legs leave the range on the way and come back (-2^62, -2^62, +2^62): its total fits,
-- but the sequencer cannot fold it (a running balance would not), so books_check reports it too.
INSERT INTO ledger_private.account (book_id, code, currency, type, deferred) VALUES
    (1, 'sr:zig', 'USD', 'income', true), (1, 'sr:x1', 'USD', 'asset', false), (1, 'sr:x2', 'USD', 'asset', false),
    (1, 'sr:x3', 'USD', 'asset', false);
WITH e AS (
    INSERT INTO ledger_private.entry (book_id, idempotency_key, request_hash, effective_date)
    SELECT 1, 'sz:' || i, sha256(('z' || i)::bytea), current_date FROM generate_series(1, 3) AS i
    RETURNING entry_id, substr(idempotency_key, 4)::int AS i
), legs AS (
    SELECT e.entry_id, 'sr:x' || e.i AS other,
           CASE WHEN e.i = 3 THEN -4611686018427387904 ELSE 4611686018427387904 END AS amount
      FROM e
)
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
SELECT 1, l.entry_id, 1, (SELECT account_id FROM ledger_private.account WHERE code = l.other), l.amount, 'USD', 1, l.amount
  FROM legs AS l
UNION ALL
SELECT 1, l.entry_id, 2, (SELECT account_id FROM ledger_private.account WHERE code = 'sr:zig'), -l.amount, 'USD', NULL, NULL
  FROM legs AS l;
UPDATE ledger_private.account AS a SET balance = p.amount, seq = 1
  FROM ledger_private.posting AS p
 WHERE p.account_id = a.account_id AND p.account_seq = 1 AND a.code LIKE 'sr:x_';
INSERT INTO ledger_private.deferred_leg (book_id, account_id, entry_id, leg, amount)
SELECT p.book_id, p.account_id, p.entry_id, p.leg, p.amount
  FROM ledger_private.posting AS p JOIN ledger_private.account AS a USING (book_id, account_id)
 WHERE a.code = 'sr:zig' ORDER BY p.entry_id;
SELECT results_eq($$SELECT check_name, subject FROM ledger.books_check() ORDER BY subject$$,
                  $$VALUES ('balance_range', 'sr:hot'), ('balance_range', 'sr:zig')$$,
                  'books_check follows the queue in order: sr:zig leaves the range at its second leg');
SELECT is(ledger.sequence_deferred(), 0, 'and the sequencer folds neither');

-- Tampering behind the triggers' back (a superuser): a running balance at the edge, whose successor would
-- overflow a bigint sum.
SET LOCAL session_replication_role = replica;
UPDATE ledger_private.posting SET balance_after = 9223372036854775807
 WHERE account_id = (SELECT account_id FROM ledger_private.account WHERE code = 'sr:a');
INSERT INTO ledger_private.posting (book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after)
SELECT 1, p.entry_id, 3, p.account_id, 9223372036854775807, 'USD', 2, 9223372036854775807
  FROM ledger_private.posting AS p
 WHERE p.account_id = (SELECT account_id FROM ledger_private.account WHERE code = 'sr:a');
SET LOCAL session_replication_role = origin;
SELECT lives_ok('SELECT * FROM ledger.books_check()', 'books_check survives a running balance at the edge');
SELECT isnt_empty($$SELECT 1 FROM ledger.books_check() WHERE check_name = 'running_balance' AND subject = 'sr:a seq 2'$$,
                  'and reports it as running_balance');

SELECT * FROM finish();
ROLLBACK;
