-- Deploy dualbook:grant_auditor_export to pg
-- requires: grant_ledger
-- The auditor's tools (dualbook audit verify, export, status; docs/audit.md) read, besides the journal and the
-- audit views, the books (chain per book, book codes), the currencies (exported with their exponent) and the
-- accounts (exported with their fixed attributes and balances, compared with an anchor). The accounts view
-- calls normal_balance() and int64_or_null(), which the auditor already executes (grant_ledger).

BEGIN;

SET LOCAL ROLE dualbook_owner;

GRANT SELECT ON ledger.books, ledger.currencies, ledger.accounts TO dualbook_auditor;

COMMIT;
