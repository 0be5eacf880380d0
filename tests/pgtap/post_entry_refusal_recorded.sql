-- A refused key stays refused: a refusal that depends on the ledger's state (LD2xx) is recorded with its key and
-- request hash in the caller's transaction, returned as a row (status 'refused'), and returned again to every
-- later call with the key and the same request, even once the ledger's state would allow the entry. The same
-- key with another request is LD205. A malformed request (LD1xx) raises and leaves the key unused.
-- ledger.get_outcome() tells posted / refused / unknown from the key alone.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(24);

SELECT ok((ledger.create_account('rf:cash', 'USD', 'asset')).created, 'setup: asset rf:cash');
SELECT ok((ledger.create_account('rf:wallet', 'USD', 'liability', 0)).created, 'setup: wallet rf:wallet, no overdraft');

PREPARE rf_pay(text, bigint) AS
    SELECT status, entry_id, created, error_code, (error_detail::jsonb) ->> 'refusal' AS refusal
      FROM ledger.post_entry($1, jsonb_build_array(
          jsonb_build_object('account', 'rf:wallet', 'amount', $2, 'currency', 'USD'),
          jsonb_build_object('account', 'rf:cash', 'amount', -$2, 'currency', 'USD')));

SELECT results_eq($$EXECUTE rf_pay('rf:pay:1', 50)$$, $$VALUES ('refused', NULL::bigint, true, 'LD203', 'recorded')$$,
                  'an overdraft is refused, as a row, and recorded (created: this call recorded it)');
SELECT results_eq($$SELECT sqlstate, (detail::jsonb) ->> 'account' FROM ledger_private.refusal
                     WHERE idempotency_key = 'rf:pay:1'$$,
                  $$VALUES ('LD203', 'rf:wallet')$$, 'the refusal is stored with its key and DETAIL');
SELECT is((SELECT count(*)::int FROM ledger_private.entry), 0, 'no entry was written');

-- Funds arrive; the same request under the refused key stays refused.
SELECT is((SELECT status FROM ledger.post_entry('rf:topup', '[{"account": "rf:cash", "amount": 100, "currency": "USD"},
                                                             {"account": "rf:wallet", "amount": -100, "currency": "USD"}]')),
          'posted', 'the wallet is topped up with 100');
SELECT results_eq($$EXECUTE rf_pay('rf:pay:1', 50)$$, $$VALUES ('refused', NULL::bigint, false, 'LD203', 'recorded')$$,
                  'a retry of the refused request gets the recorded refusal, not a posting (created false)');
SELECT results_eq(
    $$SELECT a.error_message, a.error_detail, a.recorded_at
        FROM ledger.post_entry('rf:pay:1', '[{"account": "rf:wallet", "amount": 50, "currency": "USD"},
                                            {"account": "rf:cash", "amount": -50, "currency": "USD"}]') AS a$$,
    $$SELECT message, detail, recorded_at FROM ledger_private.refusal WHERE idempotency_key = 'rf:pay:1'$$,
    'the same message, DETAIL and recorded_at on every call');
SELECT is((SELECT balance FROM ledger.get_balance('rf:wallet')), 100::bigint, 'the wallet still holds 100');
SELECT throws_ok($$EXECUTE rf_pay('rf:pay:1', 40)$$, 'LD205', NULL,
                 'the refused key with another request is LD205');
SELECT is((SELECT status FROM ledger.post_entries('[{"key": "rf:pay:1", "legs": [
              {"account": "rf:wallet", "amount": 50, "currency": "USD"},
              {"account": "rf:cash", "amount": -50, "currency": "USD"}]}]')), 'refused',
          'post_entries returns the recorded refusal too');
SELECT is((SELECT count(*)::int FROM ledger.post_entries('[
              {"key": "rf:b1", "legs": [{"account": "rf:wallet", "amount": 1, "currency": "USD"}, {"account": "rf:cash", "amount": -1, "currency": "USD"}]},
              {"key": "rf:b2", "legs": [{"account": "rf:wallet", "amount": 1, "currency": "USD"}, {"account": "rf:cash", "amount": -1, "currency": "USD"}]},
              {"key": "rf:pay:1", "legs": [{"account": "rf:wallet", "amount": 50, "currency": "USD"}, {"account": "rf:cash", "amount": -50, "currency": "USD"}]},
              {"key": "rf:b3", "legs": [{"account": "rf:wallet", "amount": 1, "currency": "USD"}, {"account": "rf:cash", "amount": -1, "currency": "USD"}]}]')
           WHERE status = 'refused'), 1,
          'a batch the set-based path would take hands a refused key to the per-entry path, which returns its refusal');
SELECT is((SELECT balance FROM ledger.get_balance('rf:wallet')), 97::bigint, '... and posts the others');

-- Validation errors leave the key unused.
SELECT throws_ok($$SELECT * FROM ledger.post_entry('rf:pay:2', '[{"account": "rf:wallet", "amount": 5, "currency": "USD"},
                                                               {"account": "rf:cash", "amount": -4, "currency": "USD"}]')$$,
                 'LD102', NULL, 'an unbalanced entry raises');
SELECT results_eq($$EXECUTE rf_pay('rf:pay:2', 5)$$, $$VALUES ('posted', (SELECT max(entry_id) + 1 FROM ledger_private.entry), true, NULL::text, NULL::text)$$,
                  'the key of a malformed request stays unused');

-- Assertions and closed accounts are refusals of the ledger's state too.
SELECT is((SELECT error_code FROM ledger.post_entry('rf:as', '[{"account": "rf:wallet", "amount": 1, "currency": "USD"},
                                                              {"account": "rf:cash", "amount": -1, "currency": "USD"}]',
                                                    p_assertions => '[{"account": "rf:wallet", "op": "=", "balance": 0}]')),
          'LD204', 'a failed assertion is a recorded refusal');
SELECT is((SELECT error_code FROM ledger.post_entry('rf:ghost', '[{"account": "rf:ghost", "amount": 1, "currency": "USD"},
                                                                 {"account": "rf:cash", "amount": -1, "currency": "USD"}]')),
          'LD201', 'an unknown account is a recorded refusal');
SELECT ok((ledger.create_account('rf:ghost', 'USD', 'asset')).created, 'the account is created afterwards');
SELECT is((SELECT status FROM ledger.post_entry('rf:ghost', '[{"account": "rf:ghost", "amount": 1, "currency": "USD"},
                                                             {"account": "rf:cash", "amount": -1, "currency": "USD"}]')),
          'refused', '... and the refused key stays refused');

-- reverse_entry records its refusals the same way.
SELECT is((SELECT error_code FROM ledger.reverse_entry((SELECT entry_id FROM ledger_private.entry WHERE idempotency_key = 'rf:topup'),
                                                      'rf:rev')),
          'LD203', 'reversing the top-up would overdraw the wallet: refused and recorded');

-- The outcome of a key, from the key alone.
SELECT results_eq($$SELECT outcome, error_code FROM ledger.get_outcome('rf:pay:1')$$, $$VALUES ('refused', 'LD203')$$,
                  'get_outcome: a refused key');
SELECT results_eq($$SELECT outcome, entry_id FROM ledger.get_outcome('rf:topup')$$,
                  $$SELECT 'posted', entry_id FROM ledger_private.entry WHERE idempotency_key = 'rf:topup'$$,
                  'get_outcome: a posted key and its entry');
SELECT results_eq($$SELECT outcome, entry_id, error_code FROM ledger.get_outcome('rf:never')$$,
                  $$VALUES ('unknown', NULL::bigint, NULL::text)$$, 'get_outcome: an unused key');
SELECT throws_ok($$DELETE FROM ledger_private.refusal$$, 'LD302', NULL, 'recorded refusals are append-only');

SELECT * FROM finish();
ROLLBACK;
