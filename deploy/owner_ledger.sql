-- Deploy dualbook:owner_ledger to pg
-- requires: role_dualbook
-- requires: view_reporting
-- requires: function_sequence_deferred
-- requires: function_post_entries
-- requires: view_audit_export
-- requires: table_account_checks_to_triggers
-- dualbook_owner (NOLOGIN) owns the two schemas and everything in them, so the SECURITY DEFINER API functions
-- run as a role that owns the ledger's tables and nothing else, instead of as whoever deployed (in
-- development a superuser). Walks the catalog rather than a list, so whatever the plan deployed before this
-- change is covered; changes after it create their objects as dualbook_owner (SET LOCAL ROLE dualbook_owner
-- at the top of the deploy script) and a pgTAP test fails for any object owned by someone else.
--
-- Default privileges: PostgreSQL grants EXECUTE on every new function to PUBLIC. FOR ROLE dualbook_owner
-- (without IN SCHEMA: a per-schema entry cannot revoke a built-in default) applies to every function the owner
-- creates in this database; the owner creates nothing outside the ledger. The same for dualbook_migrator, in
-- case a future change forgets its SET ROLE. Deploy scripts keep their explicit REVOKE ... FROM PUBLIC too.

BEGIN;

DO $$
DECLARE
    r record;
BEGIN
    ALTER SCHEMA ledger OWNER TO dualbook_owner;
    ALTER SCHEMA ledger_private OWNER TO dualbook_owner;
    -- tables, views, materialized views, foreign tables and sequences not owned by a table's identity column
    -- (those follow their table)
    FOR r IN
        SELECT c.oid::regclass AS rel,
               CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                              WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind
          FROM pg_catalog.pg_class AS c
         WHERE c.relnamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
           AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
         ORDER BY c.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO dualbook_owner', r.kind, r.rel);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         ORDER BY p.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO dualbook_owner', r.kind, r.fn);
    END LOOP;
END
$$;

ALTER DEFAULT PRIVILEGES FOR ROLE dualbook_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE dualbook_migrator REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

COMMIT;
