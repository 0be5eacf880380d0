-- Deferred (hot) accounts on the write path: no limits allowed; their legs are queued, not applied to the row;
-- balances, counts, assertions, close and books_check all include the queue; the sequencer refuses SERIALIZABLE.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(21);

SELECT throws_ok($$SELECT * FROM ledger.create_account('hot:limited', 'USD', 'income', 0, NULL, NULL, 'default', true)$$,
                 'LD101', NULL, 'a deferred account cannot have a lower limit');
SELECT throws_ok($$SELECT * FROM ledger.create_account('hot:limited', 'USD', 'income', NULL, 10, NULL, 'default', true)$$,
                 'LD101', NULL, 'a deferred account cannot have an upper limit');

SELECT ok((SELECT created FROM ledger.create_account('hot:fees', 'USD', 'income', p_deferred => true)), 'deferred fee account');
SELECT ok((SELECT created FROM ledger.create_account('hot:bank', 'USD', 'asset', p_deferred => true)), 'deferred bank account');
SELECT ok((SELECT created FROM ledger.create_account('w:1', 'USD', 'liability', 0)), 'a wallet with a limit');
SELECT throws_ok($$SELECT * FROM ledger.create_account('hot:fees', 'USD', 'income')$$, 'LD206', NULL,
                 're-creating a deferred account as a normal one is a conflict');

SELECT is((SELECT balances FROM ledger.post_entry('top:1',
              '[{"account":"hot:bank","amount":10000,"currency":"USD"},{"account":"w:1","amount":-10000,"currency":"USD"}]')),
          '{"w:1": 10000}'::jsonb, 'the result leaves deferred accounts out of balances');
SELECT is((SELECT balances FROM ledger.post_entry('pay:1',
              '[{"account":"w:1","amount":2500,"currency":"USD"},{"account":"hot:fees","amount":-100,"currency":"USD"},{"account":"hot:bank","amount":-2400,"currency":"USD"}]',
              p_assertions => '[{"account":"hot:bank","op":"=","balance":7600},{"account":"hot:fees","op":"=","balance":100}]')),
          '{"w:1": 7500}'::jsonb, 'assertions on deferred accounts see the queued legs, this entry''s included');

SELECT is((SELECT balance || '/' || seq FROM ledger_private.account WHERE code = 'hot:bank'), '0/0',
          'the deferred account row itself was not written');
SELECT is((SELECT count(*)::int FROM ledger_private.deferred_leg), 3, 'its three legs are queued');
SELECT is((SELECT balance FROM ledger.get_balance('hot:bank')), 7600::bigint, 'get_balance = stored + queued (asset)');
SELECT is((SELECT balance || '/' || seq FROM ledger.get_balance('hot:fees')), '100/1', 'get_balance of the income account');
SELECT is((SELECT queued::int FROM ledger.accounts WHERE code = 'hot:bank'), 2, 'ledger.accounts shows the queue length');
SELECT is((SELECT count(*)::int FROM ledger.postings WHERE account LIKE 'hot:%' AND account_seq IS NULL), 3,
          'queued legs have no sequence number yet');
SELECT is((SELECT account_seq FROM ledger.postings WHERE account = 'w:1' AND entry_id = (SELECT entry_id FROM ledger.get_entry_by_key('pay:1'))),
          2::bigint, 'ordinary accounts keep their inline sequence');
SELECT is_empty('SELECT * FROM ledger.books_check()', 'books_check holds with legs queued');
SELECT is((SELECT net FROM ledger.trial_balance WHERE currency = 'USD')::bigint, 0::bigint, 'the trial balance nets to zero');

SELECT is((SELECT error_code FROM ledger.post_entry('pay:2',
              '[{"account":"w:1","amount":1,"currency":"USD"},{"account":"hot:fees","amount":-1,"currency":"USD"}]',
              p_assertions => '[{"account":"hot:fees","op":"=","balance":100}]')), 'LD204', 'a failing assertion on a deferred account refuses the entry');
SELECT throws_ok($$SELECT * FROM ledger.close_account('hot:fees')$$, 'LD207', NULL,
                 'close_account counts queued legs: not zero');
SELECT throws_ok($$SELECT ledger.sequence_deferred()$$, 'LD303', NULL, 'the sequencer refuses SERIALIZABLE');
SELECT is((SELECT count(*)::int FROM ledger_private.deferred_leg), 3, 'failed calls queued nothing');

SELECT * FROM finish();
ROLLBACK;
