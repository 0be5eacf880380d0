-- Verify dualbook:function_audit_verify on pg

BEGIN;

SELECT ord, kind, book, seal_no, entry_id, subject, detail FROM ledger.audit_verify() WHERE FALSE;
DO $$
BEGIN
    ASSERT NOT has_function_privilege('public', 'ledger.audit_verify()', 'EXECUTE'), 'PUBLIC must not execute it';
END
$$;

ROLLBACK;
