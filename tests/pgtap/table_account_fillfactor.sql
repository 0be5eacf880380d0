-- Account pages keep 90% free (fillfactor 10), so balance updates stay HOT and postings on accounts that share a
-- heap page and an index leaf page do not conflict through index inserts (tests/python/test_contention.py measures
-- the behaviour under concurrency, which one pgTAP session cannot).
BEGIN;
SELECT plan(1);

SELECT ok((SELECT 'fillfactor=10' = ANY (reloptions) FROM pg_class WHERE oid = 'ledger_private.account'::regclass),
          'ledger_private.account has fillfactor 10');

SELECT * FROM finish();
ROLLBACK;
