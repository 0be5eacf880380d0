-- Deploy dualbook:grant_registry_read to pg
-- requires: role_dualbook
-- The service's readiness check (GET /readyz, docs/deploy.md) asks, as the application role, whether the change
-- its build expects is deployed: it reads Sqitch's registry table of deployed changes, sqitch.changes (the registry
-- schema is `sqitch`, set in the packaged sqitch.conf). The application and the reader may read that table and
-- nothing else of the registry; they still cannot write it.

BEGIN;

GRANT USAGE ON SCHEMA sqitch TO dualbook_app, dualbook_reader;
GRANT SELECT ON sqitch.changes TO dualbook_app, dualbook_reader;

COMMIT;
