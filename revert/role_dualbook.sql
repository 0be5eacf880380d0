-- Revert dualbook:role_dualbook from pg
-- The roles are left in place, on purpose. Roles belong to the cluster, a revert to one database: other
-- ledger databases in the same cluster (the test suite's clones, a staging copy next to production) still
-- use them, logins and passwords are the operators', and members such as GRANT dualbook_app TO alice would
-- silently lose their access. This database's own grants and ownership were already taken back by the
-- reverts of grant_ledger and owner_ledger; a role that nothing uses any more costs nothing. To remove the
-- roles from a cluster, see "Removing the roles" in docs/security.md.

BEGIN;

SELECT 'dualbook roles are cluster-wide and are left in place' AS note;

COMMIT;
