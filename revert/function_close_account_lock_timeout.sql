-- Revert dualbook:function_close_account_lock_timeout from pg

BEGIN;

SET LOCAL ROLE dualbook_owner;

ALTER FUNCTION ledger.close_account(text, text) RESET lock_timeout;

COMMIT;
