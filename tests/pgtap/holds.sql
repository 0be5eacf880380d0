-- Holds: hold_entry reserves, capture_hold posts (in full or in part), void_hold releases. Posted, pending and
-- available balances; limits on available balances for holds and ordinary postings; exactly one resolution
-- per hold, each idempotent by key; the distinct errors of a resolution that cannot happen. Peers' known
-- failure modes are tested by name: pending debits left out of balance checks, a refused hold that can still
-- be captured, capturing more than held, re-opening a voided hold, a stale "pending" after resolution.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(92);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: wallet (no overdraft)');
SELECT ok((ledger.create_account('merchant', 'USD', 'liability')).created, 'setup: merchant');
SELECT ok((ledger.create_account('fees', 'USD', 'income')).created, 'setup: fees');
SELECT ok((ledger.create_account('capped', 'USD', 'liability', 0, 1000)).created, 'setup: capped wallet [0, 1000]');
SELECT is((ledger.post_entry('fund', '[{"account": "cash", "amount": 1000, "currency": "USD"},
                                       {"account": "wallet", "amount": -1000, "currency": "USD"}]')).status,
          'posted', 'setup: the wallet holds 1000');

-- A hold reserves: posted balance unchanged, pending and available move.
SELECT results_eq(
    $$SELECT status, created, available FROM ledger.hold_entry('auth:1',
        '[{"account": "wallet", "amount": 600, "currency": "USD"}, {"account": "merchant", "amount": -600, "currency": "USD"}]',
        'card authorisation', '{"card": "4242"}')$$,
    $$VALUES ('held'::text, true, '{"wallet": 400, "merchant": 0}'::jsonb)$$,
    'a hold of 600 leaves 400 available on the wallet');
SELECT results_eq(
    $$SELECT balance, pending_debit, pending_credit, available FROM ledger.get_available('wallet')$$,
    $$VALUES (1000::bigint, 600::bigint, 0::bigint, 400::bigint)$$,
    'wallet: posted 1000, pending debit 600, available 400');
SELECT results_eq(
    $$SELECT balance, pending_debit, pending_credit, available FROM ledger.get_available('merchant')$$,
    $$VALUES (0::bigint, 0::bigint, 600::bigint, 0::bigint)$$,
    'merchant: a pending credit does not count as available');
SELECT is((ledger.get_balance('wallet')).balance, 1000::bigint, 'get_balance is the posted balance');
SELECT is((SELECT count(*) FROM ledger_private.entry WHERE idempotency_key = 'auth:1'), 0::bigint,
          'a hold writes no journal entry');
SELECT results_eq($$SELECT status, amount FROM ledger.get_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'))$$,
                  $$VALUES ('pending'::text, 600::bigint)$$, 'get_hold: pending, 600');

-- Pending debits are in the balance checks: of holds ...
SELECT results_eq(
    $$SELECT status, error_code FROM ledger.hold_entry('auth:2',
        '[{"account": "wallet", "amount": 500, "currency": "USD"}, {"account": "merchant", "amount": -500, "currency": "USD"}]')$$,
    $$VALUES ('refused'::text, 'LD203'::text)$$,
    'a second hold beyond the available balance is refused (LD203), although the posted balance would cover it');
SELECT is((ledger.hold_entry('auth:2',
        '[{"account": "wallet", "amount": 500, "currency": "USD"}, {"account": "merchant", "amount": -500, "currency": "USD"}]')).created,
          false, 'the refusal is recorded: a replay returns it');
SELECT ok((SELECT (error_detail::jsonb ->> 'available') = '-100'
             FROM ledger.hold_entry('auth:2',
                  '[{"account": "wallet", "amount": 500, "currency": "USD"}, {"account": "merchant", "amount": -500, "currency": "USD"}]')),
          'its DETAIL names the available balance it would leave (-100)');
-- ... and of ordinary postings, on both paths of post_entries too.
SELECT is((ledger.post_entry('spend:1', '[{"account": "wallet", "amount": 500, "currency": "USD"},
                                         {"account": "cash", "amount": -500, "currency": "USD"}]')).error_code,
          'LD203', 'post_entry: a debit beyond the available balance is LD203');
SELECT is((ledger.post_entry('spend:2', '[{"account": "wallet", "amount": 400, "currency": "USD"},
                                         {"account": "cash", "amount": -400, "currency": "USD"}]')).status,
          'posted', 'post_entry: a debit of the available balance exactly posts');
SELECT results_eq(
    $$SELECT status, error_code FROM ledger.post_entries('[
        {"key": "b:1", "legs": [{"account": "wallet", "amount": 1, "currency": "USD"}, {"account": "cash", "amount": -1, "currency": "USD"}]},
        {"key": "b:2", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "fees", "amount": -1, "currency": "USD"}]},
        {"key": "b:3", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "fees", "amount": -1, "currency": "USD"}]},
        {"key": "b:4", "legs": [{"account": "cash", "amount": 1, "currency": "USD"}, {"account": "fees", "amount": -1, "currency": "USD"}]}]') ORDER BY idx$$,
    $$VALUES ('refused'::text, 'LD203'::text), ('posted', NULL), ('posted', NULL), ('posted', NULL)$$,
    'post_entries (set-based path first): a held wallet goes to the per-entry rule, which refuses the overdraft');
SET LOCAL dualbook.post_entries_path = 'per-entry';
SELECT results_eq(
    $$SELECT status, error_code FROM ledger.post_entries('[
        {"key": "b:5", "legs": [{"account": "wallet", "amount": 1, "currency": "USD"}, {"account": "cash", "amount": -1, "currency": "USD"}]}]')$$,
    $$VALUES ('refused'::text, 'LD203'::text)$$, 'post_entries (per-entry path) refuses it too');
RESET dualbook.post_entries_path;
SELECT is((ledger.post_entry('top:1', '[{"account": "cash", "amount": 100, "currency": "USD"},
                                       {"account": "wallet", "amount": -100, "currency": "USD"}]')).status,
          'posted', 'a deposit into the held wallet posts');
SELECT is((ledger.get_available('wallet')).available, 100::bigint, 'available: 700 posted - 600 held');

-- Upper limits count incoming holds.
SELECT is((ledger.hold_entry('in:1', '[{"account": "cash", "amount": 800, "currency": "USD"},
                                      {"account": "capped", "amount": -800, "currency": "USD"}]')).status,
          'held', 'an incoming hold of 800 on a wallet capped at 1000');
SELECT is((ledger.post_entry('in:2', '[{"account": "cash", "amount": 300, "currency": "USD"},
                                      {"account": "capped", "amount": -300, "currency": "USD"}]')).error_code,
          'LD203', 'a deposit that would exceed the cap once the hold is captured is LD203');

-- Capture in full: the entry is posted, the reservation goes, the hold is captured.
SELECT results_eq(
    $$SELECT status, amount, released, balances FROM ledger.capture_hold(
        (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'), 'cap:1')$$,
    $$VALUES ('posted'::text, 600::bigint, 0::bigint, '{"merchant": 600, "wallet": 100}'::jsonb)$$,
    'capture in full posts 600 (available stays 100: it was reserved)');
SELECT results_eq(
    $$SELECT balance, pending_debit, available FROM ledger.get_available('wallet')$$,
    $$VALUES (100::bigint, 0::bigint, 100::bigint)$$, 'after the capture nothing is pending');
SELECT results_eq(
    $$SELECT status, captured_amount, resolution_key, entry_id IS NOT NULL FROM ledger.get_hold(
        (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'))$$,
    $$VALUES ('captured'::text, 600::bigint, 'cap:1'::text, true)$$, 'get_hold: captured, no stale pending');
SELECT is((SELECT metadata FROM ledger_private.entry WHERE idempotency_key = 'cap:1'),
          jsonb_build_object('card', '4242', 'hold_id', (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1')),
          'the capture''s entry carries the hold''s metadata and its id');
SELECT results_eq(
    $$SELECT status, created FROM ledger.capture_hold(
        (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'), 'cap:1')$$,
    $$VALUES ('replayed'::text, false)$$, 'a replay of the capture is replayed');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'), 'cap:1', 5)$$,
                 'LD205', NULL, 'the capture key with another amount is LD205');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'), 'cap:1b')$$,
                 'LD222', NULL, 'a second capture (another key) is LD222');
SELECT throws_ok($$SELECT ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:1'), 'void:1')$$,
                 'LD224', NULL, 'a void after the capture is LD224');

-- Partial capture releases the rest; more than held is refused.
SELECT is((ledger.hold_entry('auth:3', '[{"account": "wallet", "amount": 80, "currency": "USD"},
                                        {"account": "merchant", "amount": -80, "currency": "USD"}]')).status,
          'held', 'a hold of 80');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:3'), 'cap:3', 81)$$,
                 'LD121', NULL, 'capturing more than held is LD121');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:3'), 'cap:3', 0)$$,
                 'LD120', NULL, 'a capture amount of 0 is LD120');
SELECT results_eq(
    $$SELECT status, amount, released FROM ledger.capture_hold(
        (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:3'), 'cap:3', 30)$$,
    $$VALUES ('posted'::text, 30::bigint, 50::bigint)$$, 'a partial capture of 30 releases 50');
SELECT results_eq($$SELECT balance, pending_debit, available FROM ledger.get_available('wallet')$$,
                  $$VALUES (70::bigint, 0::bigint, 70::bigint)$$, 'the wallet: 70 posted, nothing pending');
SELECT is((SELECT array_agg(p.amount ORDER BY p.leg) FROM ledger_private.posting AS p
             JOIN ledger_private.entry AS e USING (book_id, entry_id) WHERE e.idempotency_key = 'cap:3'),
          ARRAY[30, -30]::bigint[], 'the capture posted 30 / -30');

-- Void releases; no re-opening of a voided hold.
SELECT is((ledger.hold_entry('auth:4', '[{"account": "wallet", "amount": 70, "currency": "USD"},
                                        {"account": "merchant", "amount": -70, "currency": "USD"}]')).status,
          'held', 'a hold of the whole available balance');
SELECT is((ledger.get_available('wallet')).available, 0::bigint, 'nothing available');
SELECT results_eq(
    $$SELECT status, created, released FROM ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:4'), 'void:4')$$,
    $$VALUES ('voided'::text, true, '{"wallet": 70, "merchant": -70}'::jsonb)$$, 'void releases it');
SELECT is((ledger.get_available('wallet')).available, 70::bigint, 'available again');
SELECT results_eq(
    $$SELECT status, created FROM ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:4'), 'void:4')$$,
    $$VALUES ('replayed'::text, false)$$, 'a replay of the void is replayed');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:4'), 'cap:4')$$,
                 'LD221', NULL, 'capture after void is LD221');
SELECT throws_ok($$SELECT ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:4'), 'void:4b')$$,
                 'LD221', NULL, 'a second void with another key is LD221');
SELECT is((ledger.hold_entry('auth:4', '[{"account": "wallet", "amount": 70, "currency": "USD"},
                                        {"account": "merchant", "amount": -70, "currency": "USD"}]')).status,
          'replayed', 'the hold''s key replays the voided hold: it does not re-open it');
SELECT is((ledger.get_available('wallet')).available, 70::bigint, 'still nothing reserved');
SELECT is((SELECT status FROM ledger.get_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:4'))),
          'voided', 'get_hold: voided');
SELECT is((ledger.hold_entry('auth:10', '[{"account": "fees", "amount": 1, "currency": "USD"},
                                         {"account": "capped", "amount": -1, "currency": "USD"}]')).status, 'held', 'a hold of 1');
SELECT throws_ok($$SELECT ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:10'), 'cap:1')$$,
                 'LD205', NULL, 'a void with a key that captured another hold is LD205');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:10'), 'void:4')$$,
                 'LD205', NULL, 'a capture with a key that voided another hold is LD205');
SELECT is((ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:10'), 'void:10')).status,
          'voided', 'voided with a key of its own');

-- A refused hold cannot be captured: it has no hold id, and its key stays refused.
SELECT is((SELECT hold_id FROM ledger.hold_entry('auth:2',
        '[{"account": "wallet", "amount": 500, "currency": "USD"}, {"account": "merchant", "amount": -500, "currency": "USD"}]')),
          NULL::bigint, 'a refused hold has no id');
SELECT throws_ok($$SELECT ledger.capture_hold(999999, 'cap:x')$$, 'LD220', NULL, 'an unknown hold is LD220');
SELECT throws_ok($$SELECT ledger.void_hold(NULL, 'void:x')$$, 'LD220', NULL, 'a NULL hold is LD220');

-- Expiry: an expired hold counts as released everywhere before the sweeper records it. A hold placed an hour ago
-- that expired a second ago (the reservation written as hold_entry writes it).
INSERT INTO ledger_private.hold (book_id, idempotency_key, request_hash, effective_date, expires_at, recorded_at)
VALUES (ledger_private.book_id('default'), 'auth:old', '\x00', current_date, now() - interval '1 second', now() - interval '1 hour');
INSERT INTO ledger_private.hold_leg (hold_id, leg, book_id, account_id, account, amount, currency)
SELECT h.hold_id, l.leg, h.book_id, a.account_id, a.code, l.amount, 'USD'
  FROM ledger_private.hold AS h, (VALUES (1, 'wallet', 70), (2, 'merchant', -70)) AS l(leg, code, amount)
  JOIN ledger_private.account AS a ON a.code = l.code
 WHERE h.idempotency_key = 'auth:old';
SELECT ledger_private.adjust_held((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:old'), 1,
                                  now() - interval '1 second');
SELECT is((SELECT held_debit FROM ledger_private.account WHERE code = 'wallet'), 70::bigint,
          'the unswept expired hold is still in the wallet''s counters');
SELECT is((ledger.get_available('wallet')).available, 70::bigint, 'get_available: the expired hold reserves nothing');
SELECT is((SELECT status FROM ledger.get_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:old'))),
          'expired', 'get_hold: expired before the sweeper ran');
SELECT is((ledger.hold_entry('auth:5', '[{"account": "wallet", "amount": 70, "currency": "USD"},
                                        {"account": "merchant", "amount": -70, "currency": "USD"}]')).status,
          'held', 'a new hold may use what the expired one reserved (limit check)');
SELECT is((ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:5'), 'void:5')).status,
          'voided', 'and be voided');
SELECT is((ledger.post_entry('spend:3', '[{"account": "wallet", "amount": 70, "currency": "USD"},
                                         {"account": "cash", "amount": -70, "currency": "USD"}]')).status,
          'posted', 'a posting may use it too');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:old'), 'cap:old')$$,
                 'LD223', NULL, 'capture after expiry is LD223');
SELECT throws_ok($$SELECT ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:old'), 'void:old')$$,
                 'LD223', NULL, 'void after expiry is LD223');
SELECT is((ledger.hold_entry('auth:long', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                           {"account": "wallet", "amount": -1, "currency": "USD"}]',
                             NULL, NULL, NULL, now() + interval '1 day')).status, 'held', 'a hold that expires tomorrow');
SELECT is(ledger.expire_holds(), 1, 'the sweeper records one expiry');
SELECT is((SELECT held_until FROM ledger_private.account WHERE code = 'wallet'), now() + interval '1 day',
          'the wallet''s held_until moves to its earliest unresolved expiry');
SELECT is((ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:long'), 'void:long')).status,
          'voided', 'voided');
SELECT is(ledger.expire_holds(), 0, 'and none the second time');
SELECT results_eq($$SELECT held_debit, held_credit, held_until FROM ledger_private.account WHERE code = 'wallet'$$,
                  $$VALUES (0::bigint, 0::bigint, NULL::timestamptz)$$, 'after the sweep nothing stays reserved');
SELECT results_eq($$SELECT kind, resolved_at FROM ledger_private.hold_resolution
                     WHERE hold_id = (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:old')$$,
                  $$VALUES ('expired'::text, now() - interval '1 second')$$, 'recorded as expired at its expiry');
SELECT throws_ok($$SELECT ledger.hold_entry('auth:6', '[{"account": "wallet", "amount": 1, "currency": "USD"},
                                                       {"account": "merchant", "amount": -1, "currency": "USD"}]',
                                            NULL, NULL, NULL, now())$$,
                 'LD120', NULL, 'an expiry that is not in the future is LD120');

-- The posting core's refusals apply to holds too, recorded with the key; validation raises and leaves it unused.
SELECT is((ledger.hold_entry('auth:u', '[{"account": "nope", "amount": 1, "currency": "USD"},
                                        {"account": "merchant", "amount": -1, "currency": "USD"}]')).error_code,
          'LD201', 'a hold on an unknown account is the recorded refusal LD201');
SELECT throws_ok($$SELECT ledger.hold_entry('auth:u', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                       {"account": "merchant", "amount": -1, "currency": "USD"}]')$$,
                 'LD205', NULL, 'the refused key with another request is LD205');
SELECT throws_ok($$SELECT ledger.hold_entry('auth:v', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                                       {"account": "merchant", "amount": -2, "currency": "USD"}]')$$,
                 'LD102', NULL, 'an unbalanced hold is LD102 (raised)');
SELECT throws_ok($$SELECT ledger.hold_entry('auth:1', '[{"account": "wallet", "amount": 1, "currency": "USD"},
                                                       {"account": "merchant", "amount": -1, "currency": "USD"}]')$$,
                 'LD205', NULL, 'a hold''s key with another request is LD205');

SELECT ok((ledger.close_period(current_date - 1)).created, 'setup: the book is closed through yesterday');
SELECT is((ledger.hold_entry('auth:w', '[{"account": "cash", "amount": 1, "currency": "USD"},
                                        {"account": "merchant", "amount": -1, "currency": "USD"}]',
                             NULL, NULL, current_date - 1)).error_code,
          'LD214', 'a hold dated into a closed period is the recorded refusal LD214');

-- Multi-leg holds are captured whole; deferred accounts take no holds.
SELECT is((ledger.hold_entry('auth:7', '[{"account": "cash", "amount": 10, "currency": "USD"},
                                        {"account": "merchant", "amount": -9, "currency": "USD"},
                                        {"account": "fees", "amount": -1, "currency": "USD"}]')).status,
          'held', 'a three-leg hold');
SELECT throws_ok($$SELECT ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:7'), 'cap:7', 5)$$,
                 'LD122', NULL, 'a partial capture of a three-leg hold is LD122');
SELECT is((ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:7'), 'cap:7')).status,
          'posted', 'captured whole');
SELECT ok((ledger.create_account('hot', 'USD', 'liability', NULL, NULL, NULL, 'default', true)).created, 'setup: a deferred account');
SELECT results_eq(
    $$SELECT status, error_code FROM ledger.hold_entry('auth:8', '[{"account": "cash", "amount": 10, "currency": "USD"},
                                                                  {"account": "hot", "amount": -10, "currency": "USD"}]')$$,
    $$VALUES ('refused'::text, 'LD225'::text)$$, 'a hold on a deferred account is refused (LD225, recorded)');
SELECT is((SELECT held_debit + held_credit FROM ledger_private.account WHERE code = 'cash'), 800::bigint,
          'and reserves nothing on its other accounts (cash keeps the 800 of the incoming hold only)');

-- A capture refused by the posting core leaves the hold reserved, and its key refused.
SELECT is((ledger.hold_entry('auth:9', '[{"account": "cash", "amount": 5, "currency": "USD"},
                                        {"account": "fees", "amount": -5, "currency": "USD"}]')).status, 'held', 'a hold to fees');
UPDATE ledger_private.account SET status = 'closed', closed_at = now() WHERE code = 'fees';
SELECT is((ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:9'), 'cap:9')).error_code,
          'LD202', 'a capture to a closed account is the recorded refusal LD202');
SELECT is((SELECT status FROM ledger.get_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:9'))),
          'pending', 'the hold stays pending');
SELECT is((ledger.get_available('cash')).pending_debit, 805::bigint, 'and reserved');
SELECT results_eq($$SELECT created, error_code FROM ledger.capture_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:9'), 'cap:9')$$,
                  $$VALUES (false, 'LD202'::text)$$, 'the capture''s key replays its recorded refusal');
SELECT is((SELECT count(*) FROM ledger_private.hold_resolution
            WHERE hold_id = (SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:9')), 0::bigint,
          'a refused capture leaves no resolution');

-- Reports: pending at a time, and the month-end report's pending at the period's end.
SELECT results_eq($$SELECT code, pending_debit, pending_credit, holds FROM ledger.pending_as_of(now()) WHERE code = 'cash'$$,
                  $$VALUES ('cash'::text, 805::bigint, 0::bigint, 2::bigint)$$, 'pending_as_of(now): cash has 805 pending debits');
SELECT results_eq($$SELECT code, pending_debit, pending_credit, holds FROM ledger.pending_as_of(now() - interval '30 minutes')$$,
                  $$VALUES ('merchant'::text, 0::bigint, 70::bigint, 1::bigint), ('wallet', 70, 0, 1)$$,
                  'pending_as_of half an hour ago: only the hold that has since expired');
SELECT results_eq($$SELECT pending_debit, pending_credit FROM ledger.month_end_report(date_trunc('month', current_date)::date, current_date)
                     WHERE account = 'cash'$$,
                  $$VALUES (805::numeric, 0::numeric)$$, 'the month-end report shows the pending amounts at the period''s end');
SELECT results_eq($$SELECT pending_debit, pending_credit FROM ledger.month_end_report(date_trunc('month', current_date)::date, current_date)
                     WHERE account = 'merchant'$$,
                  $$VALUES (0::numeric, 0::numeric)$$, 'an account without holds: zero pending');

SELECT * FROM finish();
ROLLBACK;
