-- Deploy dualbook:table_account_fillfactor to pg
-- requires: table_account
--
-- Every posting updates its accounts' rows. An update is HOT (no new index entry) only when the new row version
-- fits on the same heap page; when it does not, PostgreSQL inserts new entries into the account indexes. Under
-- SERIALIZABLE every posting holds a page-level predicate (SIREAD) lock on the leaf page of the account-code index
-- that it looked its accounts up in, and an index insert into that page is a read-write conflict with each of
-- them. Accounts created one after another share heap pages and index leaf pages, so with fillfactor 50 busy
-- adjacent accounts filled their pages before pruning freed them, and postings that shared no account failed each
-- other (32 callers on 64 adjacent accounts: 96-209 serialization failures per 1,280 postings; 20: 15-30; 10: 0,
-- the same as accounts spread apart). With fillfactor 10 a page holds ~5 accounts and PostgreSQL prunes a page
-- whenever it is more than 10% full, so updates stay HOT. It costs heap space: ~1.4 KB per account instead of ~260
-- bytes (137 MB per 100,000 accounts). The setting applies to pages written from now on; `VACUUM FULL
-- ledger_private.account` (or pg_repack) rewrites existing accounts with it (docs/design.md).

BEGIN;

ALTER TABLE ledger_private.account SET (fillfactor = 10);

COMMIT;
