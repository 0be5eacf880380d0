-- Verify dualbook:table_account on pg

BEGIN;

SELECT book_id, account_id, code, currency, type, lower_limit, upper_limit, status, balance, seq, metadata,
       created_at, closed_at
  FROM ledger_private.account WHERE FALSE;

ROLLBACK;
