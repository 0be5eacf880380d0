-- Deploy dualbook:schema_ledger to pg
-- requires: (none)
-- The public API lives in `ledger` (functions and views); tables live in `ledger_private`, which is never
-- granted to application roles. Nothing goes into `public`.

BEGIN;

CREATE SCHEMA ledger;
COMMENT ON SCHEMA ledger IS 'dualbook public SQL API: functions (write API) and views (read API).';

CREATE SCHEMA ledger_private;
COMMENT ON SCHEMA ledger_private IS 'dualbook tables and internal helpers; no privileges for application roles.';

REVOKE ALL ON SCHEMA ledger_private FROM PUBLIC;
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;

-- A function created later is not executable by accident: PUBLIC gets nothing by default.
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA ledger_private REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

COMMIT;
