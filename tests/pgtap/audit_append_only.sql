-- The seal chain is history like the journal: UPDATE, DELETE and TRUNCATE of ledger_private.seal and
-- ledger_private.sealed_entry raise LD302, even for the superuser and even when no row matches.
BEGIN;
SELECT plan(8);

SELECT trigger_is('ledger_private', 'seal', 'seal_append_only', 'ledger_private', 'forbid_change',
                  'seal has the append-only trigger');
SELECT trigger_is('ledger_private', 'sealed_entry', 'sealed_entry_append_only', 'ledger_private', 'forbid_change',
                  'sealed_entry has the append-only trigger');
SELECT throws_ok('UPDATE ledger_private.seal SET entry_count = 1 WHERE false', 'LD302', NULL, 'UPDATE of seal is LD302');
SELECT throws_ok('DELETE FROM ledger_private.seal', 'LD302', NULL, 'DELETE from seal is LD302');
SELECT throws_ok('TRUNCATE ledger_private.seal', 'LD302', NULL, 'TRUNCATE of seal is LD302');
SELECT throws_ok('UPDATE ledger_private.sealed_entry SET seal_no = 1 WHERE false', 'LD302', NULL,
                 'UPDATE of sealed_entry is LD302');
SELECT throws_ok('DELETE FROM ledger_private.sealed_entry', 'LD302', NULL, 'DELETE from sealed_entry is LD302');
SELECT throws_ok('TRUNCATE ledger_private.sealed_entry', 'LD302', NULL, 'TRUNCATE of sealed_entry is LD302');

SELECT * FROM finish();
ROLLBACK;
