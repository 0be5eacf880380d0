-- Revert dualbook:function_audit_verify from pg

BEGIN;

DROP FUNCTION ledger.audit_verify();

COMMIT;
