-- Revert dualbook:owner_ledger from pg
-- Ownership goes back to the role running the revert (the earlier reverts then drop what it owns), and the
-- built-in default privileges of dualbook_owner and dualbook_migrator are restored in this database. The
-- roles themselves stay (see revert/role_dualbook.sql).

BEGIN;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS fn, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind
          FROM pg_catalog.pg_proc AS p
         WHERE p.pronamespace IN ('ledger'::regnamespace, 'ledger_private'::regnamespace)
         ORDER BY p.oid
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO CURRENT_USER', r.kind, r.fn);
    END LOOP;
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
        EXECUTE format('ALTER %s %s OWNER TO CURRENT_USER', r.kind, r.rel);
    END LOOP;
    ALTER SCHEMA ledger_private OWNER TO CURRENT_USER;
    ALTER SCHEMA ledger OWNER TO CURRENT_USER;
END
$$;

ALTER DEFAULT PRIVILEGES FOR ROLE dualbook_migrator GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE dualbook_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC;

COMMIT;
