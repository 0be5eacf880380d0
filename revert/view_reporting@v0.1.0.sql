-- Revert dualbook:view_reporting from pg

BEGIN;

DROP FUNCTION ledger.books_check();
DROP VIEW ledger.trial_balance;
DROP VIEW ledger.postings;
DROP VIEW ledger.entries;
DROP VIEW ledger.accounts;
DROP VIEW ledger.currencies;
DROP VIEW ledger.books;

COMMIT;
