-- Revert dualbook:grant_auditor_export from pg

BEGIN;

SET LOCAL ROLE dualbook_owner;

REVOKE SELECT ON ledger.books, ledger.currencies, ledger.accounts FROM dualbook_auditor;

COMMIT;
