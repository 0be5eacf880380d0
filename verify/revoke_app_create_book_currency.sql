-- Verify dualbook:revoke_app_create_book_currency on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT has_function_privilege('dualbook_app', 'ledger.create_book(text, text)', 'EXECUTE'),
        'the app cannot create books';
    ASSERT NOT has_function_privilege('dualbook_app', 'ledger.create_currency(text, integer, text)', 'EXECUTE'),
        'the app cannot create currencies';
    ASSERT has_function_privilege('dualbook_migrator', 'ledger.create_book(text, text)', 'EXECUTE'),
        'the migrator creates books';
    ASSERT has_function_privilege('dualbook_migrator', 'ledger.create_currency(text, integer, text)', 'EXECUTE'),
        'the migrator creates currencies';
END
$$;

ROLLBACK;
