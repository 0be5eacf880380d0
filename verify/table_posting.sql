-- Verify dualbook:table_posting on pg

BEGIN;

SELECT book_id, entry_id, leg, account_id, amount, currency, account_seq, balance_after
  FROM ledger_private.posting WHERE FALSE;

ROLLBACK;
