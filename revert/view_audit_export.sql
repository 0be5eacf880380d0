-- Revert dualbook:view_audit_export from pg

BEGIN;

DROP VIEW ledger.audit_sealed_entries;
DROP VIEW ledger.audit_seals;
DROP VIEW ledger.audit_postings;
DROP VIEW ledger.audit_entries;

COMMIT;
