-- Revert dualbook:function_audit_hash from pg

BEGIN;

DROP FUNCTION ledger_private.audit_seal_hash(integer, text, bigint, bigint, bigint, integer, bytea, bytea, timestamptz);
DROP FUNCTION ledger_private.audit_merkle_root(bytea[]);
DROP VIEW ledger_private.audit_entry_digest;
DROP VIEW ledger_private.audit_leg_digest;
DROP FUNCTION ledger_private.audit_date(date);
DROP FUNCTION ledger_private.audit_timestamp(timestamptz);
DROP FUNCTION ledger_private.audit_field(text);
DROP FUNCTION ledger_private.audit_field_text(text);

COMMIT;
