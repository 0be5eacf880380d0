-- Revert dualbook:function_close_period from pg

BEGIN;

DROP FUNCTION ledger.closed_through(text);
DROP FUNCTION ledger.close_period(date, text);
DROP FUNCTION ledger_private.closed_through(integer);

COMMIT;
