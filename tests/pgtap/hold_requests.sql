-- ledger.hold_requests(): hold, capture and void requests in one call, each through hold_entry, capture_hold or
-- void_hold in its own subtransaction. Per-request results; a failing request does not affect the others;
-- replays by key inside a batch and across batches; a capture of a hold placed earlier in the same batch; bad
-- shapes refused with LD230-LD232.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(25);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: wallet (no overdraft)');
SELECT ok((ledger.create_account('merchant', 'USD', 'liability')).created, 'setup: merchant');
SELECT is((ledger.post_entry('fund', '[{"account": "cash", "amount": 1000, "currency": "USD"},
                                       {"account": "wallet", "amount": -1000, "currency": "USD"}]')).status,
          'posted', 'setup: the wallet holds 1000');

CREATE TEMP TABLE leg (n bigint, legs jsonb);
INSERT INTO leg SELECT n, jsonb_build_array(
    jsonb_build_object('account', 'wallet', 'amount', n, 'currency', 'USD'),
    jsonb_build_object('account', 'merchant', 'amount', -n, 'currency', 'USD')) FROM unnest(ARRAY[300, 500, 600]) AS n;
-- the next hold ids (one session, no concurrent holds): the batch captures a hold it places itself. Taken from the
-- sequence, not from the table: holds of earlier test files were rolled back, their ids were not
CREATE TEMP TABLE nxt AS SELECT nextval(pg_get_serial_sequence('ledger_private.hold', 'hold_id')) + 1 AS id;

CREATE TEMP TABLE r1 AS
SELECT * FROM ledger.hold_requests(jsonb_build_array(
    jsonb_build_object('op', 'hold', 'key', 'a:1', 'legs', (SELECT legs FROM leg WHERE n = 300), 'description', 'first'),
    jsonb_build_object('op', 'hold', 'key', 'a:2', 'legs', (SELECT legs FROM leg WHERE n = 500)),
    jsonb_build_object('op', 'hold', 'key', 'a:3', 'legs', (SELECT legs FROM leg WHERE n = 600)),
    jsonb_build_object('op', 'capture', 'key', 'c:1', 'hold_id', (SELECT id FROM nxt), 'amount', 200),
    jsonb_build_object('op', 'capture', 'key', 'c:x', 'hold_id', 999999),
    jsonb_build_object('op', 'void', 'key', 'v:2', 'hold_id', (SELECT id + 1 FROM nxt)),
    jsonb_build_object('op', 'hold', 'key', 'a:1', 'legs', (SELECT legs FROM leg WHERE n = 300), 'description', 'first'),
    jsonb_build_object('op', 'hold', 'key', 'bad', 'legs', (SELECT legs FROM leg WHERE n = 300), 'color', 'red'),
    jsonb_build_object('op', 'transfer', 'key', 'bad:2'),
    '"not an object"'::jsonb,
    jsonb_build_object('op', 'void', 'key', 'v:bad', 'hold_id', 1.5),
    jsonb_build_object('op', 'capture', 'key', 'c:2', 'hold_id', (SELECT id + 1 FROM nxt))
));

SELECT results_eq(
    $$SELECT idx, op, status, created, error_code FROM r1 ORDER BY idx$$,
    $$VALUES (1, 'hold'::text, 'held'::text, true, NULL::text),
             (2, 'hold', 'held', true, NULL),
             (3, 'hold', 'refused', true, 'LD203'),
             (4, 'capture', 'posted', true, NULL),
             (5, 'capture', 'rejected', NULL, 'LD220'),
             (6, 'void', 'voided', true, NULL),
             (7, 'hold', 'replayed', false, NULL),
             (8, 'hold', 'rejected', NULL, 'LD231'),
             (9, NULL, 'rejected', NULL, 'LD231'),
             (10, NULL, 'rejected', NULL, 'LD231'),
             (11, 'void', 'rejected', NULL, 'LD231'),
             (12, 'capture', 'rejected', NULL, 'LD221')$$,
    'one row per request, in order: results, a recorded refusal, rejections, a replay');
SELECT is((SELECT available FROM r1 WHERE idx = 2), '{"wallet": 200, "merchant": 0}'::jsonb,
          'the second hold sees the first''s reservation (available 200)');
SELECT is((SELECT (error_detail::jsonb ->> 'available')::bigint FROM r1 WHERE idx = 3), -400::bigint,
          'the third hold is refused against the available balance left by the two before it');
SELECT results_eq($$SELECT hold_id, amount, released_amount, balances ->> 'wallet' FROM r1 WHERE idx = 4$$,
                  $$SELECT id, 200::bigint, 100::bigint, '800' FROM nxt$$,
                  'a capture of a hold placed earlier in the batch: 200 of 300 posted, 100 released');
SELECT is((SELECT hold_id FROM r1 WHERE idx = 7), (SELECT id FROM nxt), 'the key used twice replays its hold');
SELECT is((SELECT released FROM r1 WHERE idx = 6), '{"wallet": 500, "merchant": -500}'::jsonb,
          'the void releases the second hold');
SELECT ok((SELECT recorded_at IS NOT NULL FROM r1 WHERE idx = 6), 'a void''s resolved_at is its recorded_at');
SELECT is((SELECT error_detail::jsonb ->> 'request' FROM r1 WHERE idx = 8), '8', 'LD231 names the request');
SELECT ok((SELECT error_message IS NOT NULL AND hold_id IS NULL FROM r1 WHERE idx = 5),
          'a rejected request has its message and no result');
-- the same rows as the direct calls give
SELECT is((SELECT error_code FROM r1 WHERE idx = 12), 'LD221', 'a capture of a voided hold: LD221, as capture_hold raises');
SELECT is((SELECT count(*) FROM ledger_private.hold WHERE idempotency_key IN ('bad', 'bad:2')), 0::bigint,
          'rejected requests wrote nothing');
SELECT results_eq($$SELECT balance, pending_debit, available FROM ledger.get_available('wallet')$$,
                  $$VALUES (800::bigint, 0::bigint, 800::bigint)$$,
                  'wallet: 200 posted away, nothing pending (captured, voided, refused)');
SELECT is((SELECT status FROM ledger.get_hold((SELECT id FROM nxt))), 'captured', 'get_hold: the first is captured');

-- Replays across batches: the same requests again, every key replays; the refusal is returned again.
SELECT results_eq(
    $$SELECT idx, status, created, hold_id, error_code FROM ledger.hold_requests(jsonb_build_array(
        jsonb_build_object('op', 'hold', 'key', 'a:1', 'legs', (SELECT legs FROM leg WHERE n = 300), 'description', 'first'),
        jsonb_build_object('op', 'hold', 'key', 'a:3', 'legs', (SELECT legs FROM leg WHERE n = 600)),
        jsonb_build_object('op', 'capture', 'key', 'c:1', 'hold_id', (SELECT id FROM nxt), 'amount', 200),
        jsonb_build_object('op', 'void', 'key', 'v:2', 'hold_id', (SELECT id + 1 FROM nxt))))$$,
    $$SELECT * FROM (VALUES (1, 'replayed'::text, false, (SELECT id FROM nxt), NULL::text),
                            (2, 'refused', false, NULL::bigint, 'LD203'),
                            (3, 'replayed', false, (SELECT id FROM nxt), NULL),
                            (4, 'replayed', false, (SELECT id + 1 FROM nxt), NULL)) AS v$$,
    'a second batch replays every key, the refusal included');
SELECT is((SELECT count(*) FROM ledger_private.entry WHERE idempotency_key = 'c:1'), 1::bigint,
          'the capture posted once');

-- Bad input: the whole call is refused, nothing changes.
SELECT throws_ok($$SELECT * FROM ledger.hold_requests('{"op": "hold"}')$$, 'LD232', NULL, 'an object is not an array (LD232)');
SELECT throws_ok($$SELECT * FROM ledger.hold_requests(NULL)$$, 'LD232', NULL, 'NULL requests (LD232)');
SELECT throws_ok($$SELECT * FROM ledger.hold_requests('[]')$$, 'LD230', NULL, 'an empty batch (LD230)');
SELECT throws_ok($$SELECT * FROM ledger.hold_requests((SELECT jsonb_agg(jsonb_build_object('op', 'void', 'key', 'k' || i,
                                                                       'hold_id', 1)) FROM generate_series(1, 1001) AS i))$$,
                 'LD230', NULL, '1001 requests (LD230)');
SELECT throws_ok($$SELECT * FROM ledger.hold_requests('[{"op": "void", "key": "k", "hold_id": 1}]', 'nobook')$$,
                 'LD210', NULL, 'an unknown book (LD210)');
SELECT is((SELECT count(*) FROM ledger_private.error_catalog WHERE sqlstate IN ('LD230', 'LD231', 'LD232')), 3::bigint,
          'LD230-LD232 are in the catalog');

SELECT * FROM finish();
ROLLBACK;
