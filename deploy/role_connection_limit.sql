-- Deploy dualbook:role_connection_limit to pg
-- requires: role_dualbook
-- Per-role connection limits (docs/security.md §7). Without them one role can take every connection the server
-- allows to non-superusers (max_connections - superuser_reserved_connections), and then the sequencer, the
-- sealer, the auditor, the reports and the migrator are all refused. The operations roles get small fixed limits;
-- the application gets what is left after reserving those, computed from this server's settings:
--
--   dualbook_sequencer  10   the sequencer and the sealer (one session each, plus their restarts and a DBA)
--   dualbook_auditor    10   audit verify / export / status
--   dualbook_migrator   10   Sqitch, reference data
--   dualbook_reader     30   reports, the CLI's read commands
--   dualbook_app        max_connections - superuser_reserved_connections - 60 (at least 10)
--
-- With max_connections = 200 (the embedded cluster) the application may hold 137, and 60 stay for the others.
-- Like role_dualbook, a limit is set only where the role has none (rolconnlimit = -1): a DBA's own numbers
-- (ALTER ROLE ... CONNECTION LIMIT n) survive a redeploy. Changing a limit needs CREATEROLE: when a limit is
-- missing and this session cannot set it, the deploy refuses with a hint instead of leaving a role unbounded.
-- Roles belong to the cluster, so the revert leaves the limits in place (docs/security.md §2).

BEGIN;

DO $$
DECLARE
    v_available integer := current_setting('max_connections')::integer
                           - current_setting('superuser_reserved_connections')::integer;
    v_ops integer := 60;
    r record;
BEGIN
    FOR r IN
        SELECT v.name, v.n
          FROM (VALUES ('dualbook_sequencer', 10), ('dualbook_auditor', 10), ('dualbook_migrator', 10),
                       ('dualbook_reader', 30), ('dualbook_app', greatest(v_available - v_ops, 10)))
               AS v(name, n)
          JOIN pg_catalog.pg_roles AS x ON x.rolname = v.name
         WHERE x.rolconnlimit = -1
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS me
                        WHERE me.rolname = current_user AND (me.rolsuper OR me.rolcreaterole)) THEN
            RAISE EXCEPTION 'role % has no connection limit, and % may not set one', r.name, current_user
                USING HINT = 'A DBA runs deploy/role_connection_limit.sql once per cluster (as a superuser or a '
                             'CREATEROLE role), or sets ALTER ROLE ... CONNECTION LIMIT n; see docs/security.md.';
        END IF;
        EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', r.name, r.n);
    END LOOP;
END
$$;

COMMIT;
