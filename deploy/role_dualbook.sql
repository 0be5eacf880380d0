-- Deploy dualbook:role_dualbook to pg
-- requires: schema_ledger
-- The roles of least privilege (docs/security.md). Roles belong to the cluster, while Sqitch deploys per
-- database, and one cluster can hold several ledger databases (the tests deploy dozens): every step here is
-- "if missing", so the change is idempotent and a second database reuses the roles. A DBA may also create the
-- roles beforehand (running this file once with psql as a superuser); then this change finds everything in
-- place, needs no CREATEROLE and changes nothing, so an unprivileged dualbook_migrator can deploy.
--
--   dualbook_owner      NOLOGIN  owns every ledger object (owner_ledger); SECURITY DEFINER functions run as it
--   dualbook_migrator   LOGIN    member of dualbook_owner: what Sqitch runs as in production
--   dualbook_app        LOGIN    EXECUTE on the API functions, nothing else (grant_ledger)
--   dualbook_sequencer  LOGIN    EXECUTE on ledger.sequence_deferred() only
--   dualbook_reader     LOGIN    SELECT on the reporting views + the read functions (read-only sessions)
--   dualbook_auditor    LOGIN    the journal views + books_check() (read-only sessions)
--
-- Resource limits are per-role settings (set only when absent, so an operator's own values survive a
-- redeploy). They apply to sessions that log in as the role itself: a user who is only a member of
-- dualbook_app (GRANT dualbook_app TO alice) needs its own ALTER ROLE alice SET ... (docs/security.md).

BEGIN;

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT v.name, v.login, v.description
          FROM (VALUES
                ('dualbook_owner', false, 'dualbook: owns every ledger object; never logs in.'),
                ('dualbook_migrator', true, 'dualbook: runs Sqitch (member of dualbook_owner).'),
                ('dualbook_app', true, 'dualbook: the application; EXECUTE on the ledger API functions only.'),
                ('dualbook_sequencer', true, 'dualbook: runs ledger.sequence_deferred() and nothing else.'),
                ('dualbook_reader', true, 'dualbook: reports; SELECT on the ledger views and the read functions.'),
                ('dualbook_auditor', true, 'dualbook: reads the journal views and runs ledger.books_check().'))
               AS v(name, login, description)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS x WHERE x.rolname = r.name) THEN
            EXECUTE format('CREATE ROLE %I %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT',
                           r.name, CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
            EXECUTE format('COMMENT ON ROLE %I IS %L', r.name, r.description);
        END IF;
    END LOOP;

    -- Refuse roles that someone created with more power than their job: a superuser or CREATEROLE owner would
    -- make every SECURITY DEFINER function run with that power, and a CREATEROLE application role could grant
    -- itself dualbook_owner.
    FOR r IN
        SELECT x.rolname FROM pg_catalog.pg_roles AS x
         WHERE x.rolname IN ('dualbook_owner', 'dualbook_migrator', 'dualbook_app', 'dualbook_sequencer',
                             'dualbook_reader', 'dualbook_auditor')
           AND (x.rolsuper OR x.rolbypassrls
                OR (x.rolname <> 'dualbook_migrator' AND (x.rolcreaterole OR x.rolreplication)))
    LOOP
        RAISE EXCEPTION 'role % exists with more privileges than its job (superuser, bypassrls, createrole or replication)',
            r.rolname
            USING HINT = 'ALTER ROLE ... NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOREPLICATION, see docs/security.md.';
    END LOOP;
    FOR r IN
        SELECT m.name, o.name AS powerful
          FROM unnest(ARRAY['dualbook_app', 'dualbook_sequencer', 'dualbook_reader', 'dualbook_auditor']) AS m(name)
         CROSS JOIN unnest(ARRAY['dualbook_owner', 'dualbook_migrator']) AS o(name)
         WHERE pg_catalog.pg_has_role(m.name, o.name, 'MEMBER')
    LOOP
        RAISE EXCEPTION 'role % is a member of %: it would own the ledger''s tables', r.name, r.powerful
            USING HINT = format('REVOKE %I FROM %I', r.powerful, r.name);
    END LOOP;

    IF NOT pg_catalog.pg_has_role('dualbook_migrator', 'dualbook_owner', 'MEMBER') THEN
        GRANT dualbook_owner TO dualbook_migrator;
    END IF;

    -- Resource limits, each only when the role has no value of its own for it (cluster-wide role settings).
    FOR r IN
        SELECT v.role, v.name, v.value
          FROM (VALUES
                -- a request takes milliseconds: one stuck client must not hold account rows for long
                ('dualbook_app', 'statement_timeout', '5s'),
                ('dualbook_app', 'lock_timeout', '2s'),
                ('dualbook_app', 'idle_in_transaction_session_timeout', '30s'),
                -- a sequencer pass folds up to 10,000 legs
                ('dualbook_sequencer', 'statement_timeout', '60s'),
                ('dualbook_sequencer', 'lock_timeout', '5s'),
                ('dualbook_sequencer', 'idle_in_transaction_session_timeout', '30s'),
                -- reports and books_check() read a lot; they never write
                ('dualbook_reader', 'statement_timeout', '5min'),
                ('dualbook_reader', 'lock_timeout', '10s'),
                ('dualbook_reader', 'idle_in_transaction_session_timeout', '5min'),
                ('dualbook_reader', 'default_transaction_read_only', 'on'),
                ('dualbook_auditor', 'statement_timeout', '30min'),
                ('dualbook_auditor', 'lock_timeout', '10s'),
                ('dualbook_auditor', 'idle_in_transaction_session_timeout', '5min'),
                ('dualbook_auditor', 'default_transaction_read_only', 'on'),
                -- a migration queued behind a long transaction would queue all traffic behind itself
                ('dualbook_migrator', 'lock_timeout', '5s'))
               AS v(role, name, value)
         WHERE NOT EXISTS (
               SELECT 1
                 FROM pg_catalog.pg_db_role_setting AS s
                 JOIN pg_catalog.pg_roles AS x ON x.oid = s.setrole
                CROSS JOIN unnest(s.setconfig) AS c(setting)
                WHERE s.setdatabase = 0 AND x.rolname = v.role AND c.setting LIKE v.name || '=%')
    LOOP
        EXECUTE format('ALTER ROLE %I SET %I = %L', r.role, r.name, r.value);
    END LOOP;
END
$$;

COMMIT;
