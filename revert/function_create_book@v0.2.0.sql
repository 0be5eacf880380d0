-- Revert dualbook:function_create_book from pg

BEGIN;

DROP FUNCTION ledger.create_book(text, text);

COMMIT;
