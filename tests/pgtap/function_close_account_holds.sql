-- ledger.close_account() and holds: an account with outstanding holds, on either side, is not closed (LD226, and it
-- stays open, its holds untouched); once they are voided or captured it closes like any other (a capture that
-- leaves a balance meets LD207 first). The pinned settings survive the rework. (An expired hold counts as released
-- whether or not the sweeper recorded it: tests/python/test_close_account_holds.py, which can let time pass.)
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(16);

SELECT ok((ledger.create_account('cash', 'USD', 'asset')).created, 'setup: cash');
SELECT ok((ledger.create_account('wallet', 'USD', 'liability', 0)).created, 'setup: wallet (no overdraft)');
SELECT ok((ledger.create_account('shop', 'USD', 'liability')).created, 'setup: shop (no limit)');
SELECT ok((ledger.create_account('credit_line', 'USD', 'liability')).created, 'setup: credit line (no limit)');
SELECT is((ledger.post_entry('fund', '[{"account": "cash", "amount": 500, "currency": "USD"},
                                       {"account": "wallet", "amount": -500, "currency": "USD"}]')).status,
          'posted', 'setup: the wallet holds 500');

-- The credited side: the shop is at zero balance, but a hold would credit it.
CREATE TEMP TABLE h AS
SELECT hold_id FROM ledger.hold_entry('auth:shop',
    '[{"account": "wallet", "amount": 200, "currency": "USD"}, {"account": "shop", "amount": -200, "currency": "USD"}]',
    NULL, NULL, NULL, now() + interval '1 hour');
SELECT throws_ok($$SELECT ledger.close_account('shop')$$, 'LD226', NULL,
                 'an account at zero balance with a hold that would credit it is not closed (LD226)');
SELECT results_eq($$SELECT status, closed_at FROM ledger.accounts WHERE code = 'shop'$$,
                  $$VALUES ('open', NULL::timestamptz)$$, 'after LD226 the account is still open');

-- The debited side, and what the error says.
SELECT is((ledger.hold_entry('auth:line',
    '[{"account": "credit_line", "amount": 70, "currency": "USD"}, {"account": "cash", "amount": -70, "currency": "USD"}]'
    )).status, 'held', 'setup: a hold debiting the credit line (no expiry)');
CREATE TEMP TABLE err (sqlstate text, detail jsonb, hint text);
DO $$
DECLARE
    v_state text;
    v_detail text;
    v_hint text;
BEGIN
    PERFORM ledger.close_account('credit_line');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    INSERT INTO err VALUES (v_state, v_detail::jsonb, v_hint);
END
$$;
SELECT results_eq($$SELECT sqlstate, detail FROM err$$,
                  $$VALUES ('LD226', '{"account": "credit_line", "holds": 1, "pending_debit": "70", "pending_credit": "0"}'::jsonb)$$,
                  'LD226 for a pending debit, DETAIL: account, holds, pending_debit, pending_credit');
SELECT ok((SELECT hint FROM err) LIKE '%void%', 'the hint says how to release the holds');

-- Voided: the account closes.
SELECT is((ledger.void_hold((SELECT hold_id FROM ledger_private.hold WHERE idempotency_key = 'auth:line'),
                            'void:line')).created,
          true, 'the credit line''s hold is voided');
SELECT lives_ok($$SELECT ledger.close_account('credit_line')$$, 'without outstanding holds the account closes');

-- Captured: nothing pending any more, the balance decides (LD207, not LD226).
SELECT is((ledger.capture_hold((SELECT hold_id FROM h), 'cap:shop')).status, 'posted', 'the shop''s hold is captured');
SELECT throws_ok($$SELECT ledger.close_account('shop')$$, 'LD207', NULL,
                 'after the capture the shop has a balance: LD207, no longer LD226');

-- The rework keeps the settings pinned on close_account.
SELECT ok((SELECT proconfig @> ARRAY['lock_timeout=2s', 'standard_conforming_strings=on',
                                     'search_path=pg_catalog, pg_temp']
             FROM pg_proc WHERE oid = 'ledger.close_account(text, text)'::regprocedure),
          'close_account keeps lock_timeout, standard_conforming_strings and search_path pinned');
SELECT ok((SELECT prosecdef FROM pg_proc WHERE oid = 'ledger.close_account(text, text)'::regprocedure),
          'close_account is still SECURITY DEFINER');

SELECT * FROM finish();
ROLLBACK;
