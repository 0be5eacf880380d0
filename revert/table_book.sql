-- Revert dualbook:table_book from pg

BEGIN;

DROP TABLE ledger_private.book;

COMMIT;
