-- Deploy dualbook:function_close_account_lock_timeout to pg
-- requires: function_create_account
-- close_account row-locks the account it closes. A session may set lock_timeout = 0 (wait forever); while it
-- waits for the row, its place in the row's lock queue makes later lockers of that row queue behind it. Pinning
-- lock_timeout in the function's definition bounds that wait whatever the session set (55P03 after 2 s, as the
-- application's own role default). ALTER FUNCTION keeps the body, owner and grants.

BEGIN;

SET LOCAL ROLE dualbook_owner;

ALTER FUNCTION ledger.close_account(text, text) SET lock_timeout = '2s';

COMMIT;
