-- Verify dualbook:table_period_close on pg

BEGIN;

SELECT book_id, through_date, closed_at, closed_by, accounts FROM ledger_private.period_close WHERE FALSE;
SELECT book_id, account_id, through_date, balance, debits, credits FROM ledger_private.account_checkpoint WHERE FALSE;
SELECT 'ledger_private.entry_effective'::regclass;
SELECT closed_through FROM ledger_private.book WHERE FALSE;

ROLLBACK;
