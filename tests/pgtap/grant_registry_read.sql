-- The application and the reader may read which Sqitch changes are deployed (the service's readiness check),
-- and nothing else of the registry.
BEGIN;
SELECT plan(5);

SELECT ok(has_table_privilege('dualbook_app', 'sqitch.changes', 'SELECT'), 'dualbook_app reads sqitch.changes');
SELECT ok(has_table_privilege('dualbook_reader', 'sqitch.changes', 'SELECT'), 'dualbook_reader reads sqitch.changes');
SELECT is_empty(
    $$SELECT r.role, c.relname, p.priv
        FROM pg_class AS c
       CROSS JOIN (VALUES ('dualbook_app'), ('dualbook_reader')) AS r(role)
       CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p(priv)
       WHERE c.relnamespace = 'sqitch'::regnamespace AND c.relkind = 'r'
         AND has_table_privilege(r.role, c.oid, p.priv)$$,
    'neither role may change the registry');
SELECT ok(NOT has_table_privilege('dualbook_app', 'sqitch.events', 'SELECT'), 'dualbook_app cannot read the events');
SELECT ok(EXISTS (SELECT 1 FROM sqitch.changes WHERE change = 'grant_registry_read'),
          'the change is in the registry');

SELECT * FROM finish();
ROLLBACK;
