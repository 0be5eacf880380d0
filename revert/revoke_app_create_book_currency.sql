-- Revert dualbook:revoke_app_create_book_currency from pg

BEGIN;

SET LOCAL ROLE dualbook_owner;

GRANT EXECUTE ON FUNCTION ledger.create_book(text, text), ledger.create_currency(text, integer, text)
    TO dualbook_app;

COMMIT;
