-- Verify dualbook:table_deferred_queue on pg

BEGIN;

SELECT queue_id, book_id, account_id, entry_id, leg, amount FROM ledger_private.deferred_leg WHERE FALSE;
SELECT book_id, account_id, account_seq, entry_id, leg, balance_after, sequenced_at
  FROM ledger_private.deferred_sequence WHERE FALSE;

SELECT 'ledger_private.int64_or_null(numeric)'::regprocedure;

ROLLBACK;
