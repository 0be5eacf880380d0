-- Regression (found by tests/python/test_fuzz.py): post_entry accepted any date as p_effective_date, so
-- 'infinity', '-infinity', BC dates and years past 9999 were stored, and every client that read the entry back
-- failed (Python's date covers years 1-9999, so do most). The value date is now 0001-01-01 .. 9999-12-31 (LD101).
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(9);

SELECT ok((ledger.create_account('ed:cash', 'USD', 'asset')).created, 'setup: asset ed:cash');
SELECT ok((ledger.create_account('ed:wallet', 'USD', 'liability')).created, 'setup: liability ed:wallet');
PREPARE ed_post(text, date) AS
    SELECT ledger.post_entry($1, '[{"account": "ed:cash", "amount": 1, "currency": "USD"},
                                   {"account": "ed:wallet", "amount": -1, "currency": "USD"}]', p_effective_date => $2);

SELECT throws_ok($$EXECUTE ed_post('ed:1', 'infinity')$$, 'LD101', NULL, 'infinity is refused');
SELECT throws_ok($$EXECUTE ed_post('ed:2', '-infinity')$$, 'LD101', NULL, '-infinity is refused');
SELECT throws_ok($$EXECUTE ed_post('ed:3', '0001-12-31 BC')$$, 'LD101', NULL, 'a BC date is refused');
SELECT throws_ok($$EXECUTE ed_post('ed:4', '10000-01-01')$$, 'LD101', NULL, 'the year 10000 is refused');
SELECT lives_ok($$EXECUTE ed_post('ed:5', '0001-01-01')$$, '0001-01-01 is accepted');
SELECT lives_ok($$EXECUTE ed_post('ed:6', '9999-12-31')$$, '9999-12-31 is accepted');
SELECT is((SELECT count(*)::int FROM ledger_private.entry WHERE idempotency_key LIKE 'ed:%'), 2,
          'only the two accepted entries were written');

SELECT * FROM finish();
ROLLBACK;
