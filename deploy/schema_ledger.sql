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

-- PostgreSQL grants EXECUTE on new functions to PUBLIC, and a per-schema ALTER DEFAULT PRIVILEGES cannot take
-- that away: every function's deploy script revokes it explicitly, and a pgTAP test proves none is left.

COMMIT;
