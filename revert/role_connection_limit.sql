-- Revert dualbook:role_connection_limit from pg
-- Roles and their settings belong to the cluster, which other ledger databases may share: the limits stay in
-- place, like the roles themselves (docs/security.md §2). To lift one: ALTER ROLE ... CONNECTION LIMIT -1.

BEGIN;

SELECT 1;

COMMIT;
