-- Revert dualbook:grant_registry_read from pg

BEGIN;

REVOKE SELECT ON sqitch.changes FROM dualbook_app, dualbook_reader;
REVOKE USAGE ON SCHEMA sqitch FROM dualbook_app, dualbook_reader;

COMMIT;
