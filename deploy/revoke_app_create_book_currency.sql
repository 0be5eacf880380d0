-- Deploy dualbook:revoke_app_create_book_currency to pg
-- requires: grant_ledger
-- Books (legal entities, separate ledgers) and currencies (global: every book sees them, and an exponent never
-- changes) are reference data, created once by whoever administers the ledger, not by requests: an application
-- bug or a compromised app credential must not be able to create a book or claim a currency code (an asset
-- code with the wrong exponent can never be corrected). The migrator (a member of dualbook_owner, which owns
-- the functions) keeps creating them; the app keeps get_currency() and create_account().

BEGIN;

SET LOCAL ROLE dualbook_owner;

REVOKE EXECUTE ON FUNCTION ledger.create_book(text, text), ledger.create_currency(text, integer, text)
    FROM dualbook_app;

COMMIT;
