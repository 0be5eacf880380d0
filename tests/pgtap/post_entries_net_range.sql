-- The set-based path of ledger.post_entries() refuses what post_entry refuses: legs on one account of one entry
-- that net beyond the signed 64-bit range (LD106), on ordinary and on deferred accounts, even when the balance
-- they produce fits. Such a batch is handed to the per-entry path (LD306, internal), where that entry is rejected
-- alone with post_entry's LD106.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(10);

SELECT ok(bool_and((ledger.create_account(c, 'USD', 'asset')).created), 'setup: ordinary asset accounts')
  FROM unnest(ARRAY['nr:s1', 'nr:s2', 'nr:x1', 'nr:x2', 'nr:y', 'nr:a', 'nr:b']) AS c;
SELECT ok((ledger.create_account('nr:hot', 'USD', 'asset', p_deferred => true)).created, 'setup: a deferred account');
-- s1 at -(2^63-1), s2 at +(2^63-1); the deferred account's stored balance at -(2^63-1) (its leg folded here
-- directly, as the sequencer would: it runs in READ COMMITTED, this file in SERIALIZABLE)
SELECT is((SELECT string_agg(status, ',') FROM (
    SELECT status FROM ledger.post_entry('nr:setup:1', '[{"account": "nr:s1", "amount": "-9223372036854775807", "currency": "USD"},
                                                         {"account": "nr:x1", "amount": "9223372036854775807", "currency": "USD"}]')
    UNION ALL
    SELECT status FROM ledger.post_entry('nr:setup:2', '[{"account": "nr:s2", "amount": "9223372036854775807", "currency": "USD"},
                                                         {"account": "nr:x2", "amount": "-9223372036854775807", "currency": "USD"}]')
    UNION ALL
    SELECT status FROM ledger.post_entry('nr:setup:3', '[{"account": "nr:hot", "amount": "-9223372036854775807", "currency": "USD"},
                                                         {"account": "nr:y", "amount": "9223372036854775807", "currency": "USD"}]')) AS x),
   'posted,posted,posted', 'setup: s1, s2 and the deferred account at the edges of the range');
WITH q AS (DELETE FROM ledger_private.deferred_leg RETURNING book_id, account_id, entry_id, leg, amount)
INSERT INTO ledger_private.deferred_sequence (book_id, account_id, account_seq, entry_id, leg, balance_after)
SELECT book_id, account_id, 1, entry_id, leg, amount FROM q;
UPDATE ledger_private.account SET balance = -9223372036854775807, seq = 1 WHERE code = 'nr:hot';

SELECT throws_ok($$SELECT * FROM ledger.post_entry('nr:single', '[
    {"account": "nr:s1", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:s1", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:s2", "amount": "-9223372036854775807", "currency": "USD"},
    {"account": "nr:s2", "amount": "-9223372036854775807", "currency": "USD"}]')$$,
                 'LD106', NULL, 'post_entry refuses legs on s1 netting +2(2^63-1) (LD106)');

SELECT results_eq($$SELECT idx, status, error_code FROM ledger.post_entries('[
  {"key": "nr:1", "legs": [{"account": "nr:a", "amount": 1, "currency": "USD"}, {"account": "nr:b", "amount": -1, "currency": "USD"}]},
  {"key": "nr:2", "legs": [
    {"account": "nr:s1", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:s1", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:s2", "amount": "-9223372036854775807", "currency": "USD"},
    {"account": "nr:s2", "amount": "-9223372036854775807", "currency": "USD"}]},
  {"key": "nr:3", "legs": [{"account": "nr:a", "amount": 1, "currency": "USD"}, {"account": "nr:b", "amount": -1, "currency": "USD"}]},
  {"key": "nr:4", "legs": [{"account": "nr:a", "amount": 1, "currency": "USD"}, {"account": "nr:b", "amount": -1, "currency": "USD"}]}
]') ORDER BY idx$$,
    $$VALUES (1, 'posted', NULL::text), (2, 'rejected', 'LD106'), (3, 'posted', NULL), (4, 'posted', NULL)$$,
    'post_entries (set-based by default for 4 entries) rejects that entry alone with LD106, as post_entry does');
SELECT results_eq($$SELECT code, balance FROM ledger_private.account WHERE code IN ('nr:s1', 'nr:s2') ORDER BY code$$,
    $$VALUES ('nr:s1', -9223372036854775807::bigint), ('nr:s2', 9223372036854775807::bigint)$$,
    's1 and s2 did not move (the entry would have taken s1 to +(2^63-1), beyond what a reversal can undo)');

SELECT results_eq($$SELECT status, error_code FROM ledger.post_entries('[
  {"key": "nr:5", "legs": [{"account": "nr:a", "amount": 1, "currency": "USD"}, {"account": "nr:b", "amount": -1, "currency": "USD"}]},
  {"key": "nr:6", "legs": [
    {"account": "nr:hot", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:hot", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:y", "amount": "-9223372036854775807", "currency": "USD"},
    {"account": "nr:x1", "amount": "-9223372036854775807", "currency": "USD"}]},
  {"key": "nr:7", "legs": [{"account": "nr:a", "amount": 1, "currency": "USD"}, {"account": "nr:b", "amount": -1, "currency": "USD"}]},
  {"key": "nr:8", "legs": [{"account": "nr:a", "amount": 1, "currency": "USD"}, {"account": "nr:b", "amount": -1, "currency": "USD"}]}
]') ORDER BY idx$$,
    $$VALUES ('posted', NULL::text), ('rejected', 'LD106'), ('posted', NULL), ('posted', NULL)$$,
    'a deferred account''s legs netting beyond 64 bits in one entry are LD106 on the set-based path too');

-- LD306: the set-based path hands a batch over (called directly here; post_entries catches it).
SELECT throws_ok($$SELECT * FROM ledger_private.post_batch_set(
    (SELECT book_id FROM ledger_private.book WHERE code = 'default'), '[
  {"key": "nr:9", "legs": [
    {"account": "nr:s1", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:s1", "amount": "9223372036854775807", "currency": "USD"},
    {"account": "nr:s2", "amount": "-9223372036854775807", "currency": "USD"},
    {"account": "nr:s2", "amount": "-9223372036854775807", "currency": "USD"}]}]')$$,
    'LD306', NULL, 'post_batch_set hands a batch it cannot post entirely over with LD306, not a bare P0001');
SELECT is_empty($$SELECT * FROM ledger.books_check()$$, 'the books check');
SELECT is((SELECT count(*)::int FROM ledger_private.entry WHERE idempotency_key IN ('nr:2', 'nr:6', 'nr:9')), 0,
          'no refused entry was written');

SELECT * FROM finish();
ROLLBACK;
