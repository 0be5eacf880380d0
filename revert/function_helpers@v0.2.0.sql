-- Revert dualbook:function_helpers from pg

BEGIN;

DROP FUNCTION ledger_private.checked_metadata(jsonb, text);
DROP FUNCTION ledger_private.normal_balance(text, bigint);
DROP FUNCTION ledger_private.add_checked(bigint, numeric, text);
DROP FUNCTION ledger_private.book_id(text);
DROP FUNCTION ledger_private.require_serializable(text);

COMMIT;
