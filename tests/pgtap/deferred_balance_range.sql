-- Regression (found by tests/python/test_fuzz.py): nothing range-checked a deferred account, so two legs of
-- 2^62 made its balance 2^63; get_balance() and ledger.accounts then failed with 22003 and books_check() saw
-- nothing. Now (A) post_entry refuses with LD211 a leg that takes a deferred account's *stored* balance beyond
-- 64 bits, and (B) the case the write path still cannot see — queued legs, which it does not sum (docs/design.md
-- §7) — is reported by books_check() as balance_range; get_balance() raises LD211, ledger.accounts shows NULL.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(14);

SELECT ok((ledger.create_account('dr:hot', 'USD', 'income', p_deferred => true)).created, 'setup: deferred dr:hot');
SELECT ok((ledger.create_account('dr:a', 'USD', 'asset')).created, 'setup: asset dr:a');
SELECT ok((ledger.create_account('dr:b', 'USD', 'asset')).created, 'setup: asset dr:b');
SELECT ok((ledger.create_account('dr:c', 'USD', 'asset')).created, 'setup: asset dr:c');
PREPARE dr_post(text, text, bigint) AS
    SELECT ledger.post_entry($1, jsonb_build_array(
        jsonb_build_object('account', $2, 'amount', $3::text, 'currency', 'USD'),
        jsonb_build_object('account', 'dr:hot', 'amount', (-$3)::text, 'currency', 'USD')));

-- A. dr:hot's stored balance is -(2^62 + 2^61): one leg, folded as the sequencer would (it runs READ COMMITTED,
--    this file SERIALIZABLE, so the fold is written here directly).
SELECT lives_ok($$EXECUTE dr_post('dr:1', 'dr:a', 6917529027641081856)$$, 'setup: a credit of 2^62 + 2^61 to dr:hot');
WITH q AS (DELETE FROM ledger_private.deferred_leg RETURNING book_id, account_id, entry_id, leg, amount)
INSERT INTO ledger_private.deferred_sequence (book_id, account_id, account_seq, entry_id, leg, balance_after)
SELECT book_id, account_id, 1, entry_id, leg, amount FROM q;
UPDATE ledger_private.account SET balance = -6917529027641081856, seq = 1 WHERE code = 'dr:hot';
SELECT is_empty('SELECT * FROM ledger.books_check()', 'setup: the fold is consistent');

SELECT is((SELECT error_code FROM ledger.post_entry('dr:2', jsonb_build_array(
               jsonb_build_object('account', 'dr:b', 'amount', '4611686018427387904', 'currency', 'USD'),
               jsonb_build_object('account', 'dr:hot', 'amount', '-4611686018427387904', 'currency', 'USD')))),
          'LD211', 'a leg taking a deferred account''s stored balance beyond 64 bits is refused (LD211)');
SELECT is((SELECT count(*)::int FROM ledger_private.entry WHERE idempotency_key = 'dr:2'), 0, '... and writes nothing');
SELECT lives_ok($$EXECUTE dr_post('dr:3', 'dr:b', 2305843009213693951)$$,
                'a leg up to the edge is accepted: the balance is -(2^63 - 1), queued');

-- B. The documented limit: the queued leg is not summed on the write path, so one more unit is accepted...
SELECT lives_ok($$EXECUTE dr_post('dr:4', 'dr:c', 1)$$,
                'a leg whose stored balance + net is in range is accepted though the queue takes it beyond');
-- ...and everything that reads the balance says so, with a documented code.
SELECT results_eq(
    $$SELECT check_name, subject FROM ledger.books_check()$$,
    $$VALUES ('balance_range', 'dr:hot')$$,
    'books_check reports it: balance_range for dr:hot, nothing else');
SELECT throws_ok($$SELECT ledger.get_balance('dr:hot')$$, 'LD211', NULL, 'get_balance raises LD211, not 22003');
SELECT is((SELECT balance FROM ledger.accounts WHERE code = 'dr:hot'), NULL::bigint,
          'ledger.accounts shows NULL, not 22003 (the view keeps serving every other account)');
SELECT is((SELECT balance FROM ledger.get_balance('dr:c')), 1::bigint, 'other accounts read as usual');

SELECT * FROM finish();
ROLLBACK;
