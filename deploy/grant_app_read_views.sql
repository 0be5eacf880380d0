-- Deploy dualbook:grant_app_read_views to pg
-- requires: grant_ledger
-- One model for the application: the role it connects as can use every method of its client (Ledger,
-- AsyncLedger), reads included: list_accounts() reads ledger.accounts, currencies() ledger.currencies,
-- trial_balance() ledger.trial_balance. The app already reads any balance, entry and currency through the API
-- functions and runs books_check(), so these views show it nothing new; the journal views (entries, postings),
-- books and the error catalog stay the reader's. The accounts view calls normal_balance() and int64_or_null(),
-- which PostgreSQL checks against the view's caller.

BEGIN;

SET LOCAL ROLE dualbook_owner;

GRANT SELECT ON ledger.currencies, ledger.accounts, ledger.trial_balance TO dualbook_app;
GRANT EXECUTE ON FUNCTION ledger_private.normal_balance(text, bigint), ledger_private.int64_or_null(numeric)
    TO dualbook_app;

COMMIT;
