-- ledger.seal_journal() runs in READ COMMITTED only (LD303): after waiting for older transactions it needs a fresh
-- snapshot to see what they committed; a SERIALIZABLE or REPEATABLE READ snapshot would make it skip entries.
BEGIN;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SELECT plan(2);

SELECT throws_ok('SELECT * FROM ledger.seal_journal()', 'LD303', NULL, 'the sealer refuses SERIALIZABLE');
SELECT is_empty('SELECT * FROM ledger_private.seal', 'nothing was sealed');

SELECT * FROM finish();
ROLLBACK;
