-- Deploy dualbook:index_posting_account_entry to pg
-- requires: table_period_close
-- The postings of one account, covering what the reports by effective date read of them (entry, leg, amount):
-- ledger.balance_as_of() and ledger.statement() read an account's postings from this index alone (an index-only
-- scan once the pages are all-visible) and join each to its entry for the date. Without it each posting was a heap
-- fetch on a random page: at 1M postings over 20,000 accounts the p99 of balance_as_of fell from 2.1-3.1 ms to
-- 0.4-0.6 ms. Its cost on the write path is in docs/performance.md.

BEGIN;

SET LOCAL ROLE dualbook_owner;

CREATE INDEX posting_account_entry ON ledger_private.posting (book_id, account_id, entry_id) INCLUDE (leg, amount);

COMMIT;
