-- The roles of least privilege (deploy/role_dualbook.sql, docs/security.md): they exist, only the owner cannot
-- log in, none has a dangerous attribute, the only membership is migrator -> owner, the resource limits are
-- set per role, and a function the owner (or the migrator) creates is not executable by PUBLIC.
BEGIN;
SELECT plan(20);

SELECT has_role(r, r || ' exists')
  FROM unnest(ARRAY['dualbook_owner', 'dualbook_migrator', 'dualbook_app', 'dualbook_sequencer',
                    'dualbook_reader', 'dualbook_auditor']) AS r;
SELECT isnt_superuser('dualbook_owner', 'dualbook_owner is not a superuser: SECURITY DEFINER runs without superpowers');
SELECT is_empty(
    $$SELECT rolname FROM pg_roles
       WHERE rolname LIKE 'dualbook\_%'
         AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)$$,
    'no dualbook role is superuser, createrole, createdb, replication or bypassrls');
SELECT results_eq(
    $$SELECT rolname::text COLLATE "default", rolcanlogin FROM pg_roles WHERE rolname LIKE 'dualbook\_%' ORDER BY rolname$$,
    $$VALUES ('dualbook_app', true), ('dualbook_auditor', true), ('dualbook_migrator', true),
             ('dualbook_owner', false), ('dualbook_reader', true), ('dualbook_sequencer', true)$$,
    'every role but the owner logs in');
SELECT is_member_of('dualbook_owner', 'dualbook_migrator', 'the migrator is a member of the owner');
SELECT set_eq(
    $$SELECT g.rolname::text COLLATE "default" AS grp, m.rolname::text COLLATE "default" AS member
        FROM pg_auth_members AS a
        JOIN pg_roles AS g ON g.oid = a.roleid
        JOIN pg_roles AS m ON m.oid = a.member
       WHERE g.rolname LIKE 'dualbook\_%' OR m.rolname LIKE 'dualbook\_%'$$,
    $$VALUES ('dualbook_owner', 'dualbook_migrator')$$,
    'no other membership: the app, sequencer, reader and auditor inherit nothing');
SELECT ok(NOT pg_has_role('dualbook_app', 'dualbook_owner', 'USAGE'), 'the app cannot act as the owner');
SELECT ok(NOT pg_has_role('dualbook_app', 'dualbook_owner', 'MEMBER'), 'the app cannot SET ROLE to the owner');

-- Resource limits (cluster-wide role settings, database 0).
SELECT set_eq(
    $$SELECT r.rolname::text COLLATE "default", c.setting
        FROM pg_db_role_setting AS s
        JOIN pg_roles AS r ON r.oid = s.setrole
       CROSS JOIN unnest(s.setconfig) AS c(setting)
       WHERE s.setdatabase = 0 AND r.rolname LIKE 'dualbook\_%'$$,
    $$VALUES ('dualbook_app', 'statement_timeout=5s'),
             ('dualbook_app', 'lock_timeout=2s'),
             ('dualbook_app', 'idle_in_transaction_session_timeout=30s'),
             ('dualbook_sequencer', 'statement_timeout=60s'),
             ('dualbook_sequencer', 'lock_timeout=5s'),
             ('dualbook_sequencer', 'idle_in_transaction_session_timeout=30s'),
             ('dualbook_reader', 'statement_timeout=5min'),
             ('dualbook_reader', 'lock_timeout=10s'),
             ('dualbook_reader', 'idle_in_transaction_session_timeout=5min'),
             ('dualbook_reader', 'default_transaction_read_only=on'),
             ('dualbook_auditor', 'statement_timeout=30min'),
             ('dualbook_auditor', 'lock_timeout=10s'),
             ('dualbook_auditor', 'idle_in_transaction_session_timeout=5min'),
             ('dualbook_auditor', 'default_transaction_read_only=on'),
             ('dualbook_migrator', 'lock_timeout=5s')$$,
    'each role has its resource limits (pg_db_role_setting)');
SELECT is(ARRAY(SELECT c FROM pg_roles, unnest(rolconfig) AS c WHERE rolname = 'dualbook_app' ORDER BY c),
          ARRAY['idle_in_transaction_session_timeout=30s', 'lock_timeout=2s', 'statement_timeout=5s'],
          'dualbook_app: statement_timeout 5s, lock_timeout 2s, idle_in_transaction_session_timeout 30s (rolconfig)');

-- Default privileges: FOR ROLE, database-wide (defaclnamespace 0), PUBLIC not among the grantees.
SELECT set_eq(
    $$SELECT d.defaclrole::regrole::text FROM pg_default_acl AS d
       WHERE d.defaclobjtype = 'f' AND d.defaclnamespace = 0
         AND NOT EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) AS x WHERE x.grantee = 0)$$,
    $$VALUES ('dualbook_owner'), ('dualbook_migrator')$$,
    'new functions of dualbook_owner and dualbook_migrator are not executable by PUBLIC');
SET LOCAL ROLE dualbook_owner;
CREATE FUNCTION ledger.tap_new_function() RETURNS int LANGUAGE sql RETURN 1;
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'ledger.tap_new_function()', 'EXECUTE'),
          'a function the owner creates is not executable by PUBLIC');
SELECT ok(NOT has_function_privilege('dualbook_app', 'ledger.tap_new_function()', 'EXECUTE'),
          '... nor by the app until a change grants it');
SET LOCAL ROLE dualbook_migrator;
CREATE FUNCTION ledger_private.tap_migrator_function() RETURNS int LANGUAGE sql RETURN 1;
RESET ROLE;
SELECT ok(NOT has_function_privilege('public', 'ledger_private.tap_migrator_function()', 'EXECUTE'),
          'a function the migrator creates (a change that forgot SET ROLE) is not executable by PUBLIC either');
SELECT is((SELECT proowner::regrole::text FROM pg_proc
            WHERE oid = 'ledger_private.tap_migrator_function()'::regprocedure), 'dualbook_migrator',
          '... and is owned by the migrator, which tests/pgtap/ownership.sql would report');

SELECT * FROM finish();
ROLLBACK;
