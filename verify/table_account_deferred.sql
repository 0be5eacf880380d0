-- Verify dualbook:table_account_deferred on pg

BEGIN;

SELECT deferred FROM ledger_private.account WHERE FALSE;

ROLLBACK;
